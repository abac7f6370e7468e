"""The error responses each route declares in the OpenAPI document: every status it can answer, with the
one error shape. Generated clients (the console's types) and schemathesis read these."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

_DESCRIPTIONS = {
    401: "Not authenticated: no valid bearer token or session cookie",
    403: "Forbidden: role, namespace scope or CSRF check",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "The request is not valid",
    429: "Rate limited; see Retry-After",
    503: "A dependency is unavailable; retry later",
}


class ErrorBody(BaseModel):
    """Every error Podium answers: a stable code, a sentence for people, and structured details."""

    code: str = Field(examples=["not_found"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the error body."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}
