"""The accept route's fast lane: `POST /api/v1/commands` answered without FastAPI's routing and
dependency solving, for the requests that are nothing but a well-formed command.

At a few hundred accepts a second the event loop's share of an accept was mostly machinery: resolving the
route's five dependencies, the body's field, the exception and exit-stack wrappers and their `send`
closures cost more CPU than the work (docs/performance-accept.md, "Fourth pass"). This middleware sits
just inside `RequestContext` (so the request id is set and echoed, and an unhandled error is the usual 500)
and does the same steps as the route, calling the same code:

- the body is read whole (a declared Content-Length within the body limit), parsed by `json.loads` and
  validated by `CommandRequest`, as FastAPI does for the route;
- the principal comes from `deps.get_principal` (cache, rate limit, auth epoch, database, audit of a
  refusal), the command from `routers.commands.accept` (group commit, 202 only after COMMIT);
- a refusal is answered by the app's own PodiumError handler (`errors.podium_error_response`), audit row
  included.

Anything else goes to the route itself with the body handed back unread: no Content-Length or too large a
one, another content type, several Idempotency-Key headers or one the route's pattern refuses, a body that is
not JSON or not a valid command. Those are decided before anything is spent (no rate-limit token, no
audit), so the route answers them exactly as it would have alone, with its 413 or 422. The route stays in
the OpenAPI document, which describes both.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from podium_shared.errors import PodiumError
from podium_shared.operations.schemas import CommandRequest
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium_api.deps import get_meta, get_principal
from podium_api.errors import podium_error_response
from podium_api.routers import commands

_JSON = (b"application/json", b"application/json; charset=utf-8")
_IDEMPOTENCY_KEY = re.compile(commands.IDEMPOTENCY_KEY.encode())


class AcceptFastLane:
    def __init__(self, app: ASGIApp, *, path: str, max_body_bytes: int) -> None:
        self.app = app
        self._path = path
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self._path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers, repeated_key = _headers_of(scope)
        length = headers.get(b"content-length", b"")
        if not length.isdigit() or int(length) > self._max_body_bytes:
            await self.app(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        if disconnected:
            return  # the client went away before it finished sending: nothing was asked of us
        command = _command(headers, repeated_key, body)
        if command is None:
            await self.app(scope, _replay(body, receive), send)
            return
        parsed, idempotency_key = command
        await self._accept(scope, receive, send, parsed, idempotency_key)

    async def _accept(
        self, scope: Scope, receive: Receive, send: Send, body: CommandRequest, idempotency_key: str | None
    ) -> None:
        request = Request(scope, receive)
        meta = get_meta(request)
        try:
            principal = await get_principal(request, meta)
            content = await commands.accept(request, body, principal, meta, idempotency_key)
        except PodiumError as exc:
            response = await podium_error_response(request, exc)
            await response(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _headers_of(scope: Scope) -> tuple[dict[bytes, bytes], bool]:
    """The headers this lane reads, by lower-case name, and whether Idempotency-Key came more than once
    (the route reads a repeated header its own way, so it decides)."""
    found: dict[bytes, bytes] = {}
    repeated_key = False
    for name, value in scope["headers"]:
        repeated_key = repeated_key or (name == b"idempotency-key" and name in found)
        found[name] = value
    return found, repeated_key


def _command(
    headers: dict[bytes, bytes], repeated_key: bool, body: bytes
) -> tuple[CommandRequest, str | None] | None:
    """The validated command and its idempotency key, or None for anything the route should answer."""
    if repeated_key or headers.get(b"content-type", b"").lower() not in _JSON:
        return None
    key = headers.get(b"idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        return None
    try:
        parsed = CommandRequest.model_validate(json.loads(body))
    except (ValueError, RecursionError, ValidationError):  # not JSON, too deep, or not a command
        return None
    return parsed, key.decode("ascii") if key is not None else None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the route: the body already read, then whatever the connection says next."""
    pending: list[Any] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        if pending:
            message: Message = pending.pop()
            return message
        return await receive()

    return replayed
