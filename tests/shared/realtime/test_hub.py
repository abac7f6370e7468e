"""The fan-out hub on a real Redis, without a web server: feeds, pending events during a snapshot, and
the resync a feed forces when its own catch-up falls outside the window."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from typing import Any

from podium_shared.auth.principal import Principal
from podium_shared.embedded import EmbeddedRedis
from podium_shared.models.user import Role
from podium_shared.realtime import stream
from podium_shared.realtime.hub import ClientConn, Hub, HubTuning
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter
from podium_shared.realtime.subscription import Subscription
from redis import Redis

ADMIN = Principal("root", Role.admin, None)
_n = itertools.count()


def pod(name: str, rv: int) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


async def drain(client: ClientConn, until: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(5.0):
        while not until(out):
            out.append(json.loads(await client.outbox.get()))
    return out


async def test_feed_gap_beyond_the_window_forces_a_resync(redis_server: EmbeddedRedis) -> None:
    cluster = f"hub-{os.getpid()}-{next(_n)}"
    redis = Redis.from_url(redis_server.url)
    token = LeaderLock(redis, cluster, "t", ttl_seconds=60).try_acquire()
    assert token
    writer = StateWriter(redis, cluster, token)

    def add(name: str, rv: int) -> str:
        change = writer.plan("pods", "ADDED", pod(name, rv))
        assert change is not None
        return writer.write([change])[0]

    add("a", 1)
    hub = Hub(redis_server.url, HubTuning(replay_page=10))
    client = await hub.connect(ADMIN)
    try:
        sub = Subscription.create("s", cluster, "pods", ADMIN)
        assert await hub.subscribe(client, sub, None) == "snapshot"
        first = await drain(client, lambda out: len(out) == 1)
        assert first[0]["type"] == "snapshot"
        assert [o["metadata"]["name"] for o in first[0]["objects"]] == ["a"]

        ids = await asyncio.to_thread(lambda: [add(f"p{i}", 10 + i) for i in range(30)])
        live = await drain(client, lambda out: len(out) == 30)
        assert [m["id"] for m in live] == ids  # pub/sub, in order, once

        # The feed's own reader fell behind beyond the window (as after a long Redis outage).
        feed = hub.feeds[cluster]
        await asyncio.to_thread(lambda: [add(f"q{i}", 100 + i) for i in range(30)])
        await drain(client, lambda out: len(out) == 30)
        redis.xtrim(stream.stream_key(cluster), maxlen=5, approximate=False)
        await feed._catch_up(ids[0])
        resync = await drain(client, lambda out: out and out[-1]["type"] == "resync")
        assert len(resync[-1]["objects"]) == 61
    finally:
        await hub.disconnect(client)
        await hub.close()
        redis.close()
    assert hub.feeds == {}
