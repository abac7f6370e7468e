"""Operation events for the consoles: every state change is appended to the cluster's event stream
(topic `operations`) after the commit that made it, so nobody sees a state that was rolled back.

A lost publish (Redis down at that instant) is not repaired: the row in Postgres stays the truth and a
console that reconnects re-reads it. That is why publishing failures are logged, never raised."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session

from podium_shared.db.session import transaction_scoped
from podium_shared.models.operation import Operation
from podium_shared.operations import aftercommit
from podium_shared.realtime.stream import (
    Versioned,
    publish,
    publish_calls,
    settle_published,
)
from podium_shared.settings import current_settings

log = logging.getLogger(__name__)

TOPIC = "operations"
LOG_TOPIC = "operation_logs"

# The states a transaction publishes after its commit (`transaction_scoped`).
_PENDING = "podium.operation_events"

_clients: dict[str, Redis[bytes]] = {}
_clients_lock = threading.Lock()


def operation_dict(op: Operation, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The public shape of an operation (params are stored already redacted). `params`: the operation's
    params when the caller has them already (a bulk parent's, cached: they never change)."""

    def ts(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": str(op.id),
        "kind": op.kind,
        "cluster": op.cluster,
        # The WebSocket layer shows an operation only to users who may see its namespace.
        "namespace": op.namespace,
        "params": op.params if params is None else params,
        "status": str(op.status),
        "attempts": op.attempts,
        "error": op.error,
        "result": op.result,
        "requested_by": op.requested_by,
        "created_at": ts(op.created_at),
        "started_at": ts(op.started_at),
        "finished_at": ts(op.finished_at),
        "parent_id": str(op.parent_id) if op.parent_id else None,
        "progress": op.progress,
        "cancel_requested": bool(op.cancel_requested),
    }


def operation_changed(
    session: Session, op: Operation, event: str = "MODIFIED", *, params: dict[str, Any] | None = None
) -> None:
    """Publish `op` as it is now (flushed state) once `session` commits. The states a transaction publishes
    leave together, in order, in the one Redis round trip its commit's sends share (`aftercommit`; a bulk
    batch changes dozens of operations)."""
    states: list[tuple[dict[str, Any], str]]
    states, first = transaction_scoped(session, _PENDING, list)
    if first:
        aftercommit.add(session, TOPIC, redis_client, *_publisher(states))
    states.append((operation_dict(op, params), event))


def _publisher(states: list[tuple[dict[str, Any], str]]) -> tuple[aftercommit.Build, aftercommit.Settle]:
    items: list[Versioned] = []

    def build() -> list[tuple[Any, ...]]:
        items[:] = [_versioned(snapshot, event) for snapshot, event in states]
        return publish_calls(items)

    def settle(replies: list[Any]) -> None:
        try:
            settle_published(redis_client(), items, replies)
        except Exception:
            log.warning("could not publish %d %s events", len(items), TOPIC, exc_info=True)

    return build, settle


def operation_log(
    cluster: str, operation_id: str, message: str, *, requested_by: str, namespace: str | None
) -> None:
    """A progress line from a running handler; not transactional (the handler holds no transaction).
    `requested_by` and `namespace` are what the WebSocket filter decides visibility by."""
    obj = {"id": operation_id, "message": message, "requested_by": requested_by, "namespace": namespace}
    _publish(cluster, LOG_TOPIC, "LOG", obj)


def _versioned(snapshot: dict[str, Any], event: str) -> Versioned:
    return Versioned(
        snapshot["cluster"], TOPIC, event, snapshot,
        version_key=f"podium:opversion:{snapshot['id']}", version=state_rank(snapshot),
    )  # fmt: skip


# Where a state sits in an operation's life, as one number that only grows: the attempt, then the phase
# within it (queued, running, waiting to retry, finished), then a requested cancel, then (bulk parents) how
# many children have finished. Two workers committing changes to one operation publish after their
# commits in no guaranteed order; comparing ranks lets the later state win in every console.
_PHASE = {"queued": 0, "running": 1, "succeeded": 3, "failed": 3, "cancelled": 3}


def state_rank(snapshot: dict[str, Any]) -> int:
    status = str(snapshot.get("status"))
    attempts = int(snapshot.get("attempts") or 0)
    phase = _PHASE.get(status, 0)
    if status == "queued" and attempts > 0:
        phase = 2  # back in the queue after an attempt: later than that attempt's `running`
    progress = snapshot.get("progress") or {}
    done = sum(int(progress.get(k) or 0) for k in ("succeeded", "failed", "cancelled"))
    cancel = 1 if snapshot.get("cancel_requested") else 0
    return ((attempts * 4 + phase) * 2 + cancel) * 1_000_000 + min(done, 999_999)


def _publish(cluster: str, topic: str, event: str, obj: dict[str, Any]) -> None:
    try:
        publish(redis_client(), cluster, topic, event, obj)
    except Exception:
        log.warning("could not publish %s event for %s", topic, obj.get("id"), exc_info=True)


def redis_client() -> Redis[bytes]:
    url = current_settings().redis_url
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        return client
