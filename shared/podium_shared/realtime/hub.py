"""The API process's fan-out: one Redis pub/sub reader per cluster, feeding every local subscription.

Each API replica runs its own feeds and serves its own clients; they share nothing but Redis, so any
replica can serve any client. Gap-freedom rests on three rules:
1. A feed reads pub/sub for latency, and after a reconnect reads the stream from its last id before
   going on (the stream is the truth; pub/sub is only the doorbell). If the window no longer covers
   that id, its subscriptions are resynced.
2. A new subscription is registered with the feed *before* it reads the stream or the snapshot; live
   events that arrive meanwhile wait in its `pending` list and are applied after, skipping ids it
   already sent. Every subscription only ever moves forward (`last_id`), so overlap never duplicates.
3. A client's queue is bounded. Live fan-out never waits for a client: a client whose queue is full is
   marked slow and disconnected (it reconnects with `since` and loses nothing inside the window).
   Replays and snapshots belong to one client, so those do wait for that client's queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis as AsyncRedis

from podium_shared.realtime import doorbell
from podium_shared.realtime.keys import channel, state_key, stream_key
from podium_shared.realtime.metrics import FANOUT_LAG, FEED_RECONNECTS, WS_CLIENTS, WS_SENT, WS_SLOW
from podium_shared.realtime.resources import UNSNAPSHOTTED
from podium_shared.realtime.stream import (
    StreamEvent,
    WindowInfo,
    compare_ids,
    parse_window,
    window_script,
)
from podium_shared.realtime.subscription import Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubTuning:
    client_queue: int = 2000  # messages buffered per client before it counts as too slow
    # Bytes a client's socket may hold unsent (live events written straight to it) before it counts as
    # too slow; the byte twin of client_queue for the direct path (`ClientConn.direct`).
    client_buffer_bytes: int = 16 * 1024 * 1024
    replay_page: int = 500
    max_pending: int = 20_000  # live events held for one subscription while it replays
    ping_interval: float = 20.0
    feed_ready_timeout: float = 10.0


async def read_after(
    redis: AsyncRedis[bytes], cluster: str, after: str, count: int
) -> tuple[WindowInfo, list[StreamEvent]]:
    async with redis.pipeline(transaction=True) as pipe:
        await window_script(redis)(keys=[stream_key(cluster)], client=pipe)
        await pipe.xrange(stream_key(cluster), min=f"({after}", max="+", count=count)
        raw_window, entries = await pipe.execute()
    return parse_window(raw_window), [StreamEvent.from_entry(cluster, i, f) for i, f in entries]


async def read_snapshot(
    redis: AsyncRedis[bytes], cluster: str, kinds: tuple[str, ...]
) -> tuple[WindowInfo, dict[str, dict[bytes, bytes]]]:
    """Objects (as stored: key → JSON) and their stream position in one MULTI: the events after that id
    are exactly what changed."""
    async with redis.pipeline(transaction=True) as pipe:
        for kind in kinds:
            await pipe.hgetall(state_key(cluster, kind))
        await window_script(redis)(keys=[stream_key(cluster)], client=pipe)
        results = await pipe.execute()
    return parse_window(results[-1]), {k: results[i] for i, k in enumerate(kinds)}


def snapshot_message(
    sub: Subscription, mode: str, last_id: str, objects: dict[str, dict[bytes, bytes]]
) -> str:
    """The snapshot/resync message, built around the stored JSON of each object rather than by decoding
    and re-encoding it: for 20,000 pods that is most of the time to a browser's first rows. Objects are
    decoded only when the subscription must look inside them (a label selector)."""
    parts: list[bytes] = []
    for kind, raw in objects.items():
        for key in sorted(raw):
            if sub.sees_stored(kind, key.decode(), raw[key]):
                parts.append(raw[key])
    head = encode(
        {"type": mode, "subscription": sub.sid, "cluster": sub.cluster, "topic": sub.topic, "id": last_id}
    )
    return f'{head[:-1]},"objects":[{b",".join(parts).decode()}]}}'


class ClientConn:
    """One WebSocket client as the hub sees it: a principal, a bounded outbox and its subscriptions."""

    def __init__(self, principal: Any, tuning: HubTuning) -> None:
        self.principal = principal
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=tuning.client_queue)
        self.subs: dict[str, Subscription] = {}
        self.provided: dict[str, str] = {}  # subscription id -> topic, for topics a TopicProvider serves
        self.slow = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        # Set by the session when its transport can take a finished WebSocket frame: writes it and returns
        # False if the socket already holds more than `client_buffer_bytes` unsent.
        self.direct: Callable[[bytes], bool] | None = None
        self.sending = False  # the session's sender is writing a queued message (direct writes wait)

    def offer(self, msg: dict[str, Any] | str) -> None:
        """Live delivery: never waits. A full outbox marks the client slow; the session disconnects it.
        `msg` is a message, or an event already serialised by `Subscription.message`."""
        if isinstance(msg, str):
            if self.deliver(msg):
                _SENT_EVENT.inc()
            return
        if self.slow.is_set():
            return
        try:
            self.outbox.put_nowait(encode(msg))
            WS_SENT.labels(msg["type"]).inc()
        except asyncio.QueueFull:
            self._too_slow()

    def deliver(self, msg: str) -> bool:
        """`offer` for an event already serialised, without counting it (a fan-out counts its deliveries
        once): True when it was written or queued.

        An event for a client whose outbox is empty (the usual case: nothing queued ahead of it, so order
        is kept) is written straight to its socket as a frame built once for every client it goes to,
        instead of a trip through its queue, its sender task and the ASGI layers per client."""
        if self.slow.is_set():
            return False
        if self.direct is not None and not self.sending and self.outbox.empty():
            if self.direct(text_frame(msg)):
                return True
        else:
            try:
                self.outbox.put_nowait(msg)
                return True
            except asyncio.QueueFull:
                pass
        self._too_slow()
        return False

    def _too_slow(self) -> None:
        WS_SLOW.inc()
        self.slow.set()

    async def put(self, msg: dict[str, Any] | str, kind: str = "event") -> None:
        """Replay/snapshot delivery: waits for this client only. A message already serialised is an event
        unless `kind` says otherwise (for the metric)."""
        await self.outbox.put(msg if isinstance(msg, str) else encode(msg))
        if not isinstance(msg, str):
            WS_SENT.labels(msg["type"]).inc()
        else:
            (_SENT_EVENT if kind == "event" else WS_SENT.labels(kind)).inc()


def encode(msg: dict[str, Any]) -> str:
    return orjson.dumps(msg).decode()


class _LastFrame:
    """The frame of the last message framed: a fan-out frames one message for many clients in a row (the
    same string object, shared by every subscription that sees the same bytes)."""

    msg: str | None = None
    frame: bytes = b""


def text_frame(msg: str) -> bytes:
    """A final, unmasked text frame (RFC 6455 §5.2) as a server sends it, no extensions (the API turns
    per-message deflate off)."""
    if msg is _LastFrame.msg:
        return _LastFrame.frame
    payload = msg.encode()
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    _LastFrame.msg, _LastFrame.frame = msg, head + payload
    return _LastFrame.frame


# The labelled child looked up once: `labels()` per message per client was measurable in the fan-out.
_SENT_EVENT = WS_SENT.labels("event")


class ClusterFeed:
    def __init__(self, hub: Hub, cluster: str) -> None:
        self.hub = hub
        self.cluster = cluster
        # Keepalive + health checks: a silently dead connection must not leave the feed listening forever.
        self.redis: AsyncRedis[bytes] = AsyncRedis.from_url(
            hub.redis_url, socket_keepalive=True, health_check_interval=15
        )
        self.subs: dict[int, tuple[ClientConn, Subscription]] = {}
        self.last_id: str | None = None
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] = asyncio.create_task(self._run(), name=f"feed-{cluster}")

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.redis.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5

    async def _run(self) -> None:
        await doorbell.follow(
            self.redis, channel(self.cluster), name=f"feed {self.cluster}", ready=self.ready,
            catch_up=self._resume, on_message=lambda data: self.dispatch(StreamEvent.from_published(data)),
            on_reconnect=FEED_RECONNECTS.labels(self.cluster).inc,
        )  # fmt: skip

    async def _resume(self) -> None:
        if self.last_id is not None:
            await self._catch_up(self.last_id)

    async def _catch_up(self, after: str) -> None:
        while True:
            window, events = await read_after(self.redis, self.cluster, after, self.hub.tuning.replay_page)
            if not window.covers(after):
                self.last_id = window.last_id
                for client, sub in list(self.subs.values()):
                    self.hub.start_snapshot(self, client, sub, "resync")
                return
            for ev in events:
                self.dispatch(ev)
            if len(events) < self.hub.tuning.replay_page:
                return
            after = events[-1].id

    def dispatch(self, ev: StreamEvent) -> None:
        if self.last_id is not None and compare_ids(ev.id, self.last_id) <= 0:
            return
        self.last_id = ev.id
        FANOUT_LAG.observe(max(0.0, time.time() - ev.key[0] / 1000))
        sent = 0
        for client, sub in list(self.subs.values()):
            if sub.pending is not None:
                if len(sub.pending) < self.hub.tuning.max_pending:
                    sub.pending.append(ev)
                continue
            msg = sub.message(ev)
            if msg is not None and client.deliver(msg):
                sent += 1
        if sent:
            _SENT_EVENT.inc(sent)


class TopicProvider(Protocol):
    """A topic served from elsewhere than the cluster stream (e.g. `logs`, from the telemetry domain),
    registered with the hub by the API: the session hands it the subscribe message; the provider sends
    on the client's outbox with the same message types and resume rules."""

    async def subscribe(
        self, client: ClientConn, sid: str, msg: dict[str, Any], since: str | None
    ) -> None: ...
    async def unsubscribe(self, client: ClientConn, sid: str) -> None: ...
    async def close(self) -> None: ...


class Hub:
    def __init__(
        self,
        redis_url: str,
        tuning: HubTuning | None = None,
        providers: dict[str, TopicProvider] | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.tuning = tuning or HubTuning()
        self.feeds: dict[str, ClusterFeed] = {}
        self.providers: dict[str, TopicProvider] = dict(providers or {})

    def _feed(self, cluster: str) -> ClusterFeed:
        feed = self.feeds.get(cluster)
        if feed is None:
            feed = self.feeds[cluster] = ClusterFeed(self, cluster)
        return feed

    async def connect(self, principal: Any) -> ClientConn:
        WS_CLIENTS.inc()
        return ClientConn(principal, self.tuning)

    async def disconnect(self, client: ClientConn) -> None:
        WS_CLIENTS.dec()
        for task in list(client.tasks):
            task.cancel()
        for sid in [*client.subs, *client.provided]:
            await self.unsubscribe(client, sid)

    async def unsubscribe(self, client: ClientConn, sid: str) -> None:
        provided = client.provided.pop(sid, None)
        if provided is not None:
            await self.providers[provided].unsubscribe(client, sid)
        sub = client.subs.pop(sid, None)
        if sub is None:
            return
        feed = self.feeds.get(sub.cluster)
        if feed is None:
            return
        feed.subs.pop(id(sub), None)
        if not feed.subs:
            # No one left on this cluster in this process: stop reading it (and free its connections).
            del self.feeds[sub.cluster]
            await feed.close()

    async def subscribe(self, client: ClientConn, sub: Subscription, since: str | None) -> str:
        """Registers the subscription and brings it up to date; returns how: replay, snapshot or resync."""
        await self.unsubscribe(client, sub.sid)
        client.subs[sub.sid] = sub
        feed = self._feed(sub.cluster)
        sub.pending = []
        feed.subs[id(sub)] = (client, sub)
        try:
            await asyncio.wait_for(feed.ready.wait(), self.tuning.feed_ready_timeout)
            if since is not None and await self._replay(feed, client, sub, since):
                return "replay"
            mode = "snapshot" if since is None else "resync"
            await self._snapshot(feed, client, sub, mode)
        except BaseException:
            await self.unsubscribe(client, sub.sid)  # half a subscription must not linger in the feed
            raise
        return mode

    async def _replay(self, feed: ClusterFeed, client: ClientConn, sub: Subscription, since: str) -> bool:
        after = since
        sub.last_id = since
        while True:
            window, events = await read_after(feed.redis, sub.cluster, after, self.tuning.replay_page)
            if not window.covers(after):
                return False
            for ev in events:
                msg = sub.message(ev)
                if msg is not None:
                    await client.put(msg)
            if len(events) < self.tuning.replay_page:
                break
            after = events[-1].id
        return self._go_live(client, sub)

    async def _snapshot(self, feed: ClusterFeed, client: ClientConn, sub: Subscription, mode: str) -> None:
        while True:
            sub.pending = []
            kinds = tuple(k for k in sub.kinds if k not in UNSNAPSHOTTED)
            window, objects = await read_snapshot(feed.redis, sub.cluster, kinds)
            sub.last_id = window.last_id
            await client.put(snapshot_message(sub, mode, window.last_id, objects), kind=mode)
            if self._go_live(client, sub):
                return
            mode = "resync"

    def start_snapshot(self, feed: ClusterFeed, client: ClientConn, sub: Subscription, mode: str) -> None:
        sub.pending = []
        task = asyncio.create_task(self._snapshot(feed, client, sub, mode))
        client.tasks.add(task)
        task.add_done_callback(client.tasks.discard)

    def _go_live(self, client: ClientConn, sub: Subscription) -> bool:
        """Apply what arrived live meanwhile and switch to live delivery, without yielding to the loop
        in between (so no event can slip past). False if too much arrived: the caller resyncs."""
        pending = sub.pending or []
        if len(pending) >= self.tuning.max_pending:
            return False
        sub.pending = None
        for ev in pending:
            msg = sub.message(ev)
            if msg is not None:
                client.offer(msg)
        return True

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            await feed.close()
        self.feeds.clear()
        for provider in self.providers.values():
            await provider.close()


ClusterCheck = Callable[[str], Awaitable[None]]
