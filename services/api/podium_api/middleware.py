"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers streaming responses and breaks WebSockets).

`RequestContext` is outermost: it gives every request an id (the client's `X-Request-ID` if sane), echoes
it on the response, and turns any unhandled exception into the one error shape with code
`internal_error`, logged with the request id and never with a stack trace to the client.
`BodySizeLimit` refuses bodies over the limit with 413, by Content-Length or by counting a streamed body."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("podium_api")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = "x-request-id"


def _json_response(status: int, body: dict[str, Any], request_id: str | None) -> tuple[Message, Message]:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if request_id:
        headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": payload},
    )


def request_id_of(scope: Scope) -> str | None:
    state: dict[str, Any] = scope.get("state", {})
    rid = state.get("request_id")
    return rid if isinstance(rid, str) else None


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        offered = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] == "websocket":
            # Nothing to add to a socket's messages: hand `send` over unwrapped (one call less per frame).
            try:
                await self.app(scope, receive, send)
            except Exception:
                log.exception("unhandled error (request_id=%s)", request_id)
                raise
            return
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = dict(message)
                message["headers"] = [
                    *[
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() != REQUEST_ID_HEADER.encode()
                    ],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error (request_id=%s)", request_id)
            if scope["type"] != "http" or started:
                raise
            start, body = _json_response(
                500,
                {
                    "code": "internal_error",
                    "message": f"internal error; quote request id {request_id} when reporting it",
                    "details": {"request_id": request_id},
                },
                request_id,
            )
            await send(start)
            await send(body)


class _TooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing passes it through instead of answering 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, send: Send) -> None:
        start, body = _json_response(
            413,
            {
                "code": "payload_too_large",
                "message": f"request body exceeds {self.max_bytes} bytes",
                "details": {"max_bytes": self.max_bytes},
            },
            request_id_of(scope),
        )
        await send(start)
        await send(body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, send)
