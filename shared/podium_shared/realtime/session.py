"""One WebSocket connection: reads the client's messages, writes its outbox, pings, and drops it when
it is too slow. Transport-agnostic (anything with send_text/receive_text/close), so the protocol is
testable without an HTTP server and the API router stays a few lines.

Client → server:  {"type": "subscribe", "id", "cluster", "topic", "namespace"?, "labelSelector"?, "since"?}
                  {"type": "unsubscribe", "id"}   {"type": "ping"}
Server → client:  {"type": "subscribed", "id", "cluster", "topic"}  (then a replay of events, or:)
                  {"type": "snapshot"|"resync", "subscription", "cluster", "topic", "id", "objects"}
                  {"type": "event", "subscription", "id", "cluster", "topic", "kind", "event", "object"}
                  {"type": "ping"|"pong", "ts"}   {"type": "error", "code", "message", "subscription"?}
See docs/realtime.md for the resume rules."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

from podium_shared.errors import Invalid, PodiumError
from podium_shared.realtime.hub import ClientConn, Hub
from podium_shared.realtime.stream import valid_id
from podium_shared.realtime.subscription import Subscription

log = logging.getLogger(__name__)

CLOSE_SLOW = 4008  # the client fell behind; reconnect with `since`
MAX_SUBSCRIPTIONS = 64


class Transport(Protocol):
    async def send_text(self, data: str) -> None: ...
    async def receive_text(self) -> str: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


def _error(code: str, message: str, sid: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if sid is not None:
        out["subscription"] = sid
    return out


async def serve(
    ws: Transport,
    principal: Any,
    hub: Hub,
    check_cluster: Callable[[str], Awaitable[None]],
    direct: Callable[[bytes], bool] | None = None,
) -> None:
    """`direct`: writes a finished frame to this connection's socket (see `ClientConn.direct`), when the
    server underneath allows it."""
    client = await hub.connect(principal)
    client.direct = direct
    tasks = [
        asyncio.create_task(_receiver(ws, client, hub, check_cluster)),
        asyncio.create_task(_sender(ws, client)),
        asyncio.create_task(_pinger(client, hub.tuning.ping_interval)),
        asyncio.create_task(client.slow.wait()),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not _is_disconnect(exc):
                log.warning("websocket session ended: %r", exc)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await hub.disconnect(client)
    if client.slow.is_set():
        # The client is not reading, so even the close frame may not get through: try briefly.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(CLOSE_SLOW, "too slow: reconnect with since=<last id>"), 2.0)


def _is_disconnect(exc: BaseException) -> bool:
    return type(exc).__name__ in (
        "WebSocketDisconnect",
        "ConnectionClosed",
        "ConnectionClosedOK",
        "ClientDisconnected",
    )


async def _sender(ws: Transport, client: ClientConn) -> None:
    outbox = client.outbox
    while True:
        msg = await outbox.get()
        client.sending = True
        try:
            await ws.send_text(msg)
            # Everything already due goes out in this wake-up, without a trip through the loop per message.
            while not outbox.empty():
                await ws.send_text(outbox.get_nowait())
        finally:
            client.sending = False


async def _pinger(client: ClientConn, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        client.offer({"type": "ping", "ts": time.time()})


async def _receiver(
    ws: Transport, client: ClientConn, hub: Hub, check_cluster: Callable[[str], Awaitable[None]]
) -> None:
    while True:
        raw = await ws.receive_text()
        try:
            msg = json.loads(raw)
            if not isinstance(msg, dict):
                raise Invalid("messages are JSON objects")
        except (ValueError, Invalid):
            await client.put(_error("invalid", "messages are JSON objects"))
            continue
        kind = msg.get("type")
        sid = str(msg.get("id") or "")
        try:
            if kind == "ping":
                await client.put({"type": "pong", "ts": time.time()})
            elif kind == "unsubscribe":
                await hub.unsubscribe(client, sid)
                await client.put({"type": "unsubscribed", "id": sid})
            elif kind == "subscribe":
                await _subscribe(client, hub, check_cluster, msg, sid)
            else:
                raise Invalid(f"unknown message type {kind!r}")
        except PodiumError as exc:
            await client.put(_error(exc.code, exc.message, sid or None))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("subscribe failed: %r", exc)
            await client.put(_error("unavailable", "the event store is unavailable; retry", sid or None))


async def _subscribe(
    client: ClientConn,
    hub: Hub,
    check_cluster: Callable[[str], Awaitable[None]],
    msg: dict[str, Any],
    sid: str,
) -> None:
    if not sid:
        raise Invalid("a subscription needs an id")
    if (
        sid not in client.subs
        and sid not in client.provided
        and len(client.subs) + len(client.provided) >= MAX_SUBSCRIPTIONS
    ):
        raise Invalid(f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
    cluster, topic = msg.get("cluster"), msg.get("topic")
    if not isinstance(cluster, str) or not isinstance(topic, str):
        raise Invalid("subscribe needs a cluster and a topic")
    namespace, selector, since = msg.get("namespace"), msg.get("labelSelector"), msg.get("since")
    if namespace is not None and not isinstance(namespace, str):
        raise Invalid("namespace must be a string")
    if selector is not None and not isinstance(selector, str):
        raise Invalid("labelSelector must be a string")
    if since is not None and (not isinstance(since, str) or not valid_id(since)):
        raise Invalid("since must be an event id like 1700000000000-0")
    provider = hub.providers.get(topic)
    if provider is not None:
        await check_cluster(cluster)
        await hub.unsubscribe(client, sid)  # subscribing again with the same id replaces it
        await client.put({"type": "subscribed", "id": sid, "cluster": cluster, "topic": topic})
        client.provided[sid] = topic
        try:
            await provider.subscribe(client, sid, msg, since)
        except BaseException:
            client.provided.pop(sid, None)
            raise
        return
    sub = Subscription.create(sid, cluster, topic, client.principal, namespace, selector)
    await check_cluster(cluster)
    # Acknowledge first, so the replay/snapshot that follows is unambiguous for the client.
    await client.put({"type": "subscribed", "id": sid, "cluster": cluster, "topic": topic})
    await hub.subscribe(client, sub, since)
