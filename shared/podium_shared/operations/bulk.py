"""Bulk orchestration: a parent operation with one child per item, at most `concurrency` children in flight.

The parent runs no code of its own. When it is claimed it releases the first `concurrency` children
(stamps `dispatched_at` and sends them after the commit, `bulk_batch_size` ids per message: a worker runs
each message's children side by side, claimed in one transaction and settled in another, see
`runner.execute_many`). Children that finish together, in the same transaction as their final statuses:
add themselves to the parent's progress with one atomic UPDATE (no read-modify-write race between
batches finishing together), release exactly as many waiting children as they held slots (so the number
in flight never grows), and, if they were the last, finalise the parent. A cancel of the parent stops
releases; children already running finish.

"In flight" = a child that was released and has not finished. Waiting children are `queued` with
`dispatched_at` NULL; the sweep leaves those alone (they are not lost, they are waiting their turn) and
only repairs a parent whose flight is short of its concurrency."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, defer

from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import events
from podium_shared.operations.dispatch import send_batches_after_commit
from podium_shared.operations.lifecycle import transition

# How many failed items the parent's result lists in full; the counts always cover every item.
MAX_REPORTED_FAILURES = 1000
_COUNTERS = ("succeeded", "failed", "cancelled")


def start_parent(session: Session, parent: Operation) -> None:
    """Called in the claim transaction of a bulk parent (its row is locked by the claim's UPDATE)."""
    parent.lease_expires_at = None  # no worker holds it; the sweep must not re-queue it
    parent.lock_token = None
    if recount(session, parent):
        return
    assert parent.progress is not None
    # Children rows first, the audit lock (taken by transition) last: see docs/pipeline.md, "Locks".
    release(session, parent.id, concurrency_of(parent))
    transition(session, parent, action="operation.running", outcome="running",
               details={"items": parent.progress["total"]})  # fmt: skip


def concurrency_of(parent: Operation) -> int:
    value = parent.concurrency or (parent.params or {}).get("concurrency") or 10
    return max(int(value), 1)


def release(session: Session, parent_id: uuid.UUID, how_many: int) -> list[uuid.UUID]:
    """Mark up to `how_many` waiting children as sent and send them after the commit."""
    if how_many <= 0:
        return []
    ids = list(
        session.scalars(
            text(
                "UPDATE operations SET dispatched_at = now() WHERE id IN ("
                "  SELECT id FROM operations"
                "  WHERE parent_id = :parent AND status = 'queued' AND dispatched_at IS NULL"
                "  ORDER BY created_at, id LIMIT :n FOR UPDATE SKIP LOCKED"
                ") RETURNING id"
            ),
            {"parent": parent_id, "n": how_many},
        )
    )
    send_batches_after_commit(session, ids)
    return ids


def child_finished(session: Session, child: Operation) -> Operation | None:
    """`children_finished` for one child: its parent (row locked) when this was the parent's last child."""
    complete = children_finished(session, [child])
    return complete[0] if complete else None


def children_finished(session: Session, children: Sequence[Operation]) -> list[Operation]:
    """Count finished children on their parents and hand their slots on, one UPDATE per parent (parents
    in id order: two transactions never lock two parents in opposite orders). Returns the parents (rows
    locked) whose last child this was: the caller passes them to `finalise` once it has taken all its row
    locks, since finalising audits, and the audit lock must come after every row lock (docs/pipeline.md,
    "Locks")."""
    by_parent: dict[uuid.UUID, list[Operation]] = {}
    for child in children:
        if child.parent_id is not None and child.status.value in _COUNTERS:
            by_parent.setdefault(child.parent_id, []).append(child)
    complete: list[Operation] = []
    for parent_id in sorted(by_parent, key=str):
        finished = by_parent[parent_id]
        counts = {k: sum(c.status.value == k for c in finished) for k in _COUNTERS}
        row = session.execute(
            text(
                "UPDATE operations SET progress = COALESCE(progress, '{}'::jsonb) || jsonb_build_object("
                "  'succeeded', COALESCE((progress->>'succeeded')::int, 0) + :succeeded,"
                "  'failed', COALESCE((progress->>'failed')::int, 0) + :failed,"
                "  'cancelled', COALESCE((progress->>'cancelled')::int, 0) + :cancelled)"
                " WHERE id = :parent"
                " RETURNING status, cancel_requested"
            ),
            {**counts, "parent": parent_id},
        ).one_or_none()
        if row is None:
            continue
        status, cancel_requested = row
        if status != OperationStatus.running.value:
            continue
        # The parent's params (every item) are its biggest column and never change after the accept: not
        # decoded again for every batch (a 2,000-item bulk's are ~240 kB of JSON).
        parent = session.get(Operation, parent_id, populate_existing=True, options=[defer(Operation.params)])
        assert parent is not None
        if parent.progress is not None and _done(parent.progress):
            complete.append(parent)
            continue
        if not cancel_requested:
            # Each child that held a slot hands it on. (A child cancelled while still waiting held none.)
            release(session, parent.id, sum(c.dispatched_at is not None for c in finished))
        # Live progress for the consoles (not audited: the parent's state did not change, only its counters).
        events.operation_changed(session, parent, params=_params_of(session, parent_id))
    return complete


class _ParamsCache:
    """The params of the bulks this process is working on (immutable once accepted), newest last."""

    size = 32
    lock = threading.Lock()
    entries: OrderedDict[uuid.UUID, dict[str, Any]] = OrderedDict()


def _params_of(session: Session, parent_id: uuid.UUID) -> dict[str, Any]:
    with _ParamsCache.lock:
        params = _ParamsCache.entries.get(parent_id)
        if params is not None:
            _ParamsCache.entries.move_to_end(parent_id)
            return params
    params = session.scalar(select(Operation.params).where(Operation.id == parent_id)) or {}
    with _ParamsCache.lock:
        _ParamsCache.entries[parent_id] = params
        while len(_ParamsCache.entries) > _ParamsCache.size:
            _ParamsCache.entries.popitem(last=False)
    return params


def recount(session: Session, parent: Operation) -> bool:
    """Set the parent's progress from its children (the truth, whatever the counters say) and finalise it
    if none is left to run; True if it was finalised. Used by the claim, the cancel and the sweep; the
    parent's row must already be locked."""
    progress = count_children(session, parent.id)
    if _done(progress):
        finalise(session, parent)
        return True
    parent.progress = progress
    session.flush()
    return False


def finalise(session: Session, parent: Operation) -> None:
    """Succeeded if every item succeeded; cancelled if a cancel stopped it; failed otherwise."""
    progress = count_children(session, parent.id)
    failures = _failures(session, parent.id)
    if progress["failed"] == 0 and progress["cancelled"] == 0:
        status, error = OperationStatus.succeeded, None
    elif parent.cancel_requested:
        status = OperationStatus.cancelled
        error = {"code": "cancelled", "message": _summary(progress, "were cancelled")}
    else:
        status = OperationStatus.failed
        error = {"code": "bulk_items_failed", "message": _summary(progress, "did not succeed")}
    parent.status = status
    parent.progress = progress
    parent.error = error
    parent.result = {**progress, "failures": failures}
    parent.finished_at = session.scalar(select(func.now()))
    parent.lock_token = None
    parent.lease_expires_at = None
    session.flush()
    transition(session, parent, action=f"operation.{status.value}", outcome=status.value,
               details={"progress": progress})  # fmt: skip


def in_flight(session: Session, parent_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Operation)
            .where(
                Operation.parent_id == parent_id,
                (Operation.status == OperationStatus.running)
                | ((Operation.status == OperationStatus.queued) & Operation.dispatched_at.is_not(None)),
            )
        )
        or 0
    )


def _summary(progress: dict[str, int], what: str) -> str:
    bad = progress["failed"] + progress["cancelled"]
    return (
        f"{bad} of {progress['total']} items {what} "
        f"({progress['succeeded']} succeeded, {progress['failed']} failed, {progress['cancelled']} cancelled)"
    )


def _done(progress: dict[str, Any]) -> bool:
    return sum(int(progress.get(k, 0)) for k in _COUNTERS) >= int(progress.get("total", 0))


def count_children(session: Session, parent_id: uuid.UUID) -> dict[str, int]:
    counts = dict(
        session.execute(
            select(Operation.status, func.count())
            .where(Operation.parent_id == parent_id)
            .group_by(Operation.status)
        ).all()
    )
    return {
        "total": sum(counts.values()),
        "succeeded": counts.get(OperationStatus.succeeded, 0),
        "failed": counts.get(OperationStatus.failed, 0),
        "cancelled": counts.get(OperationStatus.cancelled, 0),
    }


def _failures(session: Session, parent_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Operation.id, Operation.kind, Operation.params, Operation.status, Operation.error)
        .where(
            Operation.parent_id == parent_id,
            Operation.status.in_([OperationStatus.failed, OperationStatus.cancelled]),
        )
        .order_by(Operation.created_at, Operation.id)
        .limit(MAX_REPORTED_FAILURES)
    ).all()
    return [
        {
            "id": str(op_id),
            "kind": kind,
            "namespace": (params or {}).get("namespace"),
            "name": (params or {}).get("name"),
            "status": str(status),
            "error": error,
        }
        for op_id, kind, params, status, error in rows
    ]
