"""Operation events only move forward: a state published after a newer one (two workers' after-commit
publishes racing) is dropped instead of shown late."""

from __future__ import annotations

import json
import uuid
from typing import Any

from podium_shared.embedded import EmbeddedRedis
from podium_shared.operations.events import state_rank
from podium_shared.realtime.stream import Versioned, publish_if_newer, publish_many_if_newer, stream_key
from redis import Redis


def _op(status: str, attempts: int, done: int = 0, *, cancel: bool = False) -> dict[str, Any]:
    return {
        "status": status,
        "attempts": attempts,
        "cancel_requested": cancel,
        "progress": {"total": 10, "succeeded": done, "failed": 0, "cancelled": 0},
    }


def test_rank_follows_an_operations_life() -> None:
    life = [
        _op("queued", 0),
        _op("running", 1),
        _op("queued", 1),  # waiting to retry after attempt 1
        _op("running", 2),
        _op("running", 2, done=1),
        _op("running", 2, done=2),
        _op("running", 2, done=2, cancel=True),
        _op("running", 2, done=3, cancel=True),
        _op("cancelled", 2, done=3, cancel=True),
    ]
    ranks = [state_rank(s) for s in life]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)


def test_a_stale_state_is_dropped_and_a_newer_one_published(redis_server: EmbeddedRedis) -> None:
    redis: Redis[bytes] = Redis.from_url(redis_server.url)
    cluster = f"order-{uuid.uuid4().hex[:8]}"
    op_id = str(uuid.uuid4())
    key = f"podium:opversion:{op_id}"

    def send(done: int) -> str | None:
        snapshot = {"id": op_id, **_op("running", 1, done=done)}
        return publish_if_newer(
            redis, cluster, "operations", "MODIFIED", snapshot, version_key=key, version=state_rank(snapshot)
        )

    assert send(11) is not None
    assert send(10) is None  # committed earlier, published later: stale
    assert send(11) is not None  # the same state again is harmless
    assert send(12) is not None
    published = [
        json.loads(fields[b"object"])["progress"]["succeeded"]
        for _id, fields in redis.xrange(stream_key(cluster))
    ]
    assert published == [11, 11, 12]
    assert 0 < redis.ttl(key) <= 86_400
    redis.close()


def test_a_group_of_states_is_published_after_redis_forgets_the_script(redis_server: EmbeddedRedis) -> None:
    """As after a Redis restart: the pipeline's calls by SHA find no script, and are sent again with it
    (each once: the stale one of them still dropped)."""
    redis: Redis[bytes] = Redis.from_url(redis_server.url)
    cluster = f"order-{uuid.uuid4().hex[:8]}"
    ids = [str(uuid.uuid4()) for _ in range(3)]

    def item(op_id: str, done: int) -> Versioned:
        snapshot = {"id": op_id, **_op("running", 1, done=done)}
        return Versioned(
            cluster, "operations", "MODIFIED", snapshot, f"podium:opversion:{op_id}", state_rank(snapshot)
        )

    assert publish_many_if_newer(redis, [item(ids[0], 5)])[0] is not None
    redis.script_flush()
    results = publish_many_if_newer(redis, [item(ids[0], 4), item(ids[1], 1), item(ids[2], 2)])
    assert results[0] is None  # older than what was published before the flush
    assert all(r is not None for r in results[1:])
    redis.script_flush()
    assert publish_many_if_newer(redis, [item(ids[1], 3)])[0] is not None  # one alone: a plain call
    published = [json.loads(fields[b"object"])["id"] for _id, fields in redis.xrange(stream_key(cluster))]
    assert published == [ids[0], ids[1], ids[2], ids[1]]
    redis.close()
