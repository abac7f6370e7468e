"""The per-cluster event stream every console reads: a bounded Redis Stream (the replay window) plus a
pub/sub channel for live fan-out. Both the watcher (cluster changes) and the operation pipeline
(operation progress) append here, so a client sees one ordered sequence per cluster."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

# Replay window: the newest N events per cluster stay readable by id after a reconnect.
STREAM_MAXLEN = 100_000


def stream_key(cluster: str) -> str:
    return f"podium:events:{cluster}"


def channel(cluster: str) -> str:
    return f"podium:live:{cluster}"


def publish(redis: Redis, cluster: str, topic: str, event: str, obj: dict[str, Any]) -> str:
    """Append one event and announce it; returns its stream id (monotonic per cluster)."""
    body = json.dumps(obj, separators=(",", ":"), default=str)
    event_id = redis.xadd(
        stream_key(cluster),
        {"topic": topic, "event": event, "object": body},
        maxlen=STREAM_MAXLEN,
        approximate=True,
    )
    eid = event_id.decode() if isinstance(event_id, bytes) else str(event_id)
    message = json.dumps({"id": eid, "cluster": cluster, "topic": topic, "event": event})
    redis.publish(channel(cluster), message[:-1] + ',"object":' + body + "}")
    return eid
