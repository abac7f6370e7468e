"""`/api/v1/ws`: live cluster state and operation progress. The protocol lives in
`podium_shared.realtime.session` (and docs/realtime.md); this module authenticates and hands over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, WebSocket
from podium_shared.auth import sessions
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.clusters.service import get_cluster
from podium_shared.db.session import unit_of_work
from podium_shared.errors import Forbidden, PodiumError
from podium_shared.realtime import session
from podium_shared.realtime.hub import Hub
from podium_shared.telemetry.live import LogTopic
from starlette.concurrency import run_in_threadpool

from podium_api import browser
from podium_api.deps import authenticate_token, guard_attempt

router = APIRouter(tags=["realtime"])

CLOSE_UNAUTHENTICATED = 4401


def hub(app: FastAPI) -> Hub:
    """One hub per API process (per app), created on first use inside the server's event loop."""
    existing: Hub | None = getattr(app.state, "realtime_hub", None)
    if existing is None:
        url = app.state.settings.redis_url
        logs = LogTopic(url, app.state.session_factory)
        existing = app.state.realtime_hub = Hub(url, providers={"logs": logs})
    return existing


AUTH_MESSAGE_TIMEOUT = 10.0


async def _token(ws: WebSocket) -> str:
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # Browsers cannot set headers on a WebSocket: they pass the token as a query parameter, or (kept out
    # of every access log) as the first message, {"type": "auth", "token": "..."}, or sign in to the
    # console and send its session cookie (see _cookie).
    if ws.query_params.get("token"):
        return ws.query_params["token"]
    try:
        first = json.loads(await asyncio.wait_for(ws.receive_text(), AUTH_MESSAGE_TIMEOUT))
    except (TimeoutError, ValueError):
        return ""
    if isinstance(first, dict) and first.get("type") == "auth" and isinstance(first.get("token"), str):
        return str(first["token"])
    return ""


def _cookie(websocket: WebSocket) -> str:
    """The console's session cookie, honoured only from an allowed Origin: a WebSocket is not bound by
    the same-origin policy, so without this check any site could open one with the visitor's cookie."""
    cookie = websocket.cookies.get(sessions.COOKIE_NAME, "")
    if not cookie or _has_token(websocket):
        return ""
    if not browser.origin_allowed(websocket.headers, websocket.url.scheme, websocket.app.state.settings):
        raise Forbidden("this origin may not use the console's session", code="csrf_failed")
    return cookie


def _has_token(websocket: WebSocket) -> bool:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return bool(scheme.lower() == "bearer" and token.strip()) or bool(websocket.query_params.get("token"))


def _authenticate(websocket: WebSocket, token: str, cookie: str = "") -> Principal:
    # The REST road (deps.guard_attempt), so the socket is no unthrottled, unaudited way to guess.
    app: FastAPI = websocket.app
    meta = RequestMeta(client_addr=websocket.client.host if websocket.client else None)
    path = websocket.url.path
    with unit_of_work(app.state.session_factory) as s:
        if not cookie:
            return authenticate_token(app, s, token, path=path, meta=meta)

        def by_cookie() -> Principal:
            signed_in = sessions.resolve(s, cookie, browser.lifetimes(app.state.settings))
            if signed_in.must_change_password:
                raise Forbidden("change your one-time password first", code="password_change_required")
            return signed_in.principal

        return guard_attempt(app, path=path, meta=meta, attempt=by_cookie)


def _check_cluster(app: FastAPI, name: str) -> None:
    with unit_of_work(app.state.session_factory) as s:
        get_cluster(s, name)


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    app: FastAPI = websocket.app
    try:
        cookie = _cookie(websocket)
        token = "" if cookie else await _token(websocket)
        principal = await run_in_threadpool(_authenticate, websocket, token, cookie)
    except PodiumError as exc:
        await websocket.send_json({"type": "error", **exc.to_dict()})
        await websocket.close(CLOSE_UNAUTHENTICATED, exc.message)
        return

    async def check_cluster(name: str) -> None:
        await run_in_threadpool(_check_cluster, app, name)

    realtime = hub(app)
    direct = frame_writer(websocket, realtime.tuning.client_buffer_bytes)
    await session.serve(websocket, principal, realtime, check_cluster, direct)


def frame_writer(websocket: WebSocket, limit: int) -> Callable[[bytes], bool] | None:
    """A function that writes a finished frame straight to this connection's socket, for live events
    (`ClientConn.direct`): under uvicorn's sans-I/O WebSocket protocol a send is the same
    `transport.write` of a frame, reached here without the ASGI layers per client. None under any other
    server (the queued path then serves every message). False from the function: the socket already holds
    more than `limit` bytes unsent, the client is too slow."""
    # The server's `receive` is a bound method of its protocol object (`send` may arrive wrapped by
    # middleware that watches responses; `receive` is handed down as is).
    protocol = getattr(getattr(websocket, "_receive", None), "__self__", None)
    transport = getattr(protocol, "transport", None)
    if (
        protocol is None
        or transport is None
        or not hasattr(protocol, "close_sent")
        or not hasattr(transport, "get_write_buffer_size")
    ):
        return None

    def write(frame: bytes) -> bool:
        if protocol.close_sent or transport.is_closing():
            return True  # closing: the session ends on its own; nothing more goes out
        if transport.get_write_buffer_size() > limit:
            return False
        transport.write(frame)
        return True

    return write
