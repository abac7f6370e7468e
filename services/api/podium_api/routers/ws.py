"""`/api/v1/ws`: live cluster state and operation progress. The protocol lives in
`podium_shared.realtime.session` (and docs/realtime.md); this module authenticates and hands over."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, FastAPI, WebSocket
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.clusters.service import get_cluster
from podium_shared.db.session import unit_of_work
from podium_shared.errors import PodiumError
from podium_shared.realtime import session
from podium_shared.realtime.hub import Hub
from podium_shared.telemetry.live import LogTopic
from starlette.concurrency import run_in_threadpool

from podium_api.deps import authenticate_token

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
    # of every access log) as the first message, {"type": "auth", "token": "..."}.
    if ws.query_params.get("token"):
        return ws.query_params["token"]
    try:
        first = json.loads(await asyncio.wait_for(ws.receive_text(), AUTH_MESSAGE_TIMEOUT))
    except (TimeoutError, ValueError):
        return ""
    if isinstance(first, dict) and first.get("type") == "auth" and isinstance(first.get("token"), str):
        return str(first["token"])
    return ""


def _authenticate(websocket: WebSocket, token: str) -> Principal:
    # The REST road (deps.authenticate_token), so the socket is no unthrottled, unaudited way to guess.
    app: FastAPI = websocket.app
    meta = RequestMeta(client_addr=websocket.client.host if websocket.client else None)
    with unit_of_work(app.state.session_factory) as s:
        return authenticate_token(app, s, token, path=websocket.url.path, meta=meta)


def _check_cluster(app: FastAPI, name: str) -> None:
    with unit_of_work(app.state.session_factory) as s:
        get_cluster(s, name)


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    app: FastAPI = websocket.app
    try:
        principal = await run_in_threadpool(_authenticate, websocket, await _token(websocket))
    except PodiumError as exc:
        await websocket.send_json({"type": "error", **exc.to_dict()})
        await websocket.close(CLOSE_UNAUTHENTICATED, exc.message)
        return

    async def check_cluster(name: str) -> None:
        await run_in_threadpool(_check_cluster, app, name)

    await session.serve(websocket, principal, hub(app), check_cluster)
