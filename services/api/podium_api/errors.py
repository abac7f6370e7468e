"""One error shape everywhere: `{code, message, details}`.

A PodiumError may carry an audit record (`podium_shared.audit.attempts`): a denied or invalid attempt.
The request's transaction is rolled back with the error, so the record is written here, at the boundary,
in a transaction of its own."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from podium_shared.audit.attempts import pending_audit
from podium_shared.audit.service import record_in_own_transaction
from podium_shared.errors import PodiumError
from starlette.exceptions import HTTPException

log = logging.getLogger("podium_api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": jsonable_encoder(details or {})}


def _write_pending_audit(request: Request, exc: PodiumError) -> None:
    fields = pending_audit(exc)
    if fields is None:
        return
    fields.setdefault("request_id", getattr(request.state, "request_id", None))
    fields.setdefault("client_addr", request.client.host if request.client else None)
    try:
        record_in_own_transaction(request.app.state.session_factory, **fields)
    except Exception:
        # The client still gets its 4xx; a lost audit row is logged loudly rather than turned into a 500.
        log.exception(
            "could not audit a %s attempt (request_id=%s)", fields.get("outcome"), fields["request_id"]
        )


async def _podium_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PodiumError)
    return await podium_error_response(request, exc)


async def podium_error_response(request: Request, exc: PodiumError) -> JSONResponse:
    """The answer to a refusal, its pending audit row written first (also used by podium_api.fastaccept)."""
    # A database write (it may wait for the audit chain's lock): off the event loop.
    await run_in_threadpool(_write_pending_audit, request, exc)
    headers = {}
    retry_after = exc.details.get("retry_after_seconds")
    if exc.status == 429 and retry_after is not None:
        headers["Retry-After"] = str(max(1, int(float(retry_after) + 0.999)))
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status >= 500:
        log.error("%s: %s (request_id=%s)", exc.code, exc.message, getattr(request.state, "request_id", None))
    return JSONResponse(jsonable_encoder(exc.to_dict()), exc.status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # `input` may hold whatever the client sent, secrets included; the location and message suffice.
    errors = [{k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in exc.errors()]
    return JSONResponse(error_body("invalid", "the request is not valid", {"errors": errors}), 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PodiumError, _podium_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
