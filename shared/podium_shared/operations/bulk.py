"""Bulk orchestration: a parent operation with one child per item, at most `concurrency` children in flight.

The parent runs no code of its own. When it is claimed it releases the first `concurrency` children
(stamps `dispatched_at` and sends them after the commit). Each child that finishes, in the same transaction
as its final status: adds itself to the parent's progress with one atomic `jsonb_set` UPDATE (no
read-modify-write race between children finishing together), releases exactly one waiting child (so the
number in flight never grows), and, if it was the last one, finalises the parent. A cancel of the parent
stops releases; children already running finish.

"In flight" = a child that was released and has not finished. Waiting children are `queued` with
`dispatched_at` NULL; the sweep leaves those alone (they are not lost, they are waiting their turn) and
only repairs a parent whose flight is short of its concurrency."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import events
from podium_shared.operations.celery_app import QUEUE_BULK
from podium_shared.operations.dispatch import send_after_commit
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
    send_after_commit(session, ids, QUEUE_BULK)
    return ids


def child_finished(session: Session, child: Operation) -> Operation | None:
    """Count a finished child on its parent and release the next one. Returns the parent (row locked) when
    this was its last child: the caller passes it to `finalise` once it has taken all its row locks, since
    finalising audits, and the audit lock must come after every row lock (docs/pipeline.md, "Locks")."""
    assert child.parent_id is not None
    counter = child.status.value
    if counter not in _COUNTERS:
        return None
    row = session.execute(
        text(
            "UPDATE operations SET progress = jsonb_set("
            "  COALESCE(progress, '{}'::jsonb), ARRAY[CAST(:counter AS text)],"
            "  to_jsonb(COALESCE((progress->>CAST(:counter AS text))::int, 0) + 1))"
            " WHERE id = :parent"
            " RETURNING status, cancel_requested"
        ),
        {"counter": counter, "parent": child.parent_id},
    ).one_or_none()
    if row is None:
        return None
    status, cancel_requested = row
    if status != OperationStatus.running.value:
        return None
    parent = session.get(Operation, child.parent_id, populate_existing=True)
    assert parent is not None
    if parent.progress is not None and _done(parent.progress):
        return parent
    if not cancel_requested and child.dispatched_at is not None:
        # It held a slot; hand the slot on. (A child cancelled while still waiting held none.)
        release(session, parent.id, 1)
    # Live progress for the consoles (not audited: the parent's state did not change, only its counters).
    events.operation_changed(session, parent)
    return None


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
