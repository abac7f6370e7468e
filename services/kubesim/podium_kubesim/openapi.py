"""OpenAPI documents: just enough for kubectl's schema lookups and field-validation checks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from podium_kubesim import errors


def handle(request: Request, parts: list[str]) -> Response:
    raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
