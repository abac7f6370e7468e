"""The sweep: nothing accepted is ever lost.

Postgres holds the truth, so recovery is a query. Every few seconds (Celery beat, embedded in the worker
started with `podium worker --beat`) it repairs four situations:

1. `running` past its lease: the worker died (SIGKILL, OOM, node lost). Back to `queued` and re-sent; the
   handler is idempotent. After `operation_max_attempts` such losses it fails instead, so an operation that
   kills its worker every time cannot loop forever.
2. `queued`, never sent (`dispatched_at` NULL) for longer than a grace period: the API died between commit
   and send, or the broker was down. Sent.
3. `queued`, sent long ago and still not started: the broker lost the message (Redis restarted without
   it). Sent again; a duplicate is harmless because the claim is guarded.
4. A running bulk parent with fewer children in flight than its concurrency (a release was skipped or lost):
   released up to its concurrency; and a parent whose children have all finished is finalised.

Rows are taken with `FOR UPDATE SKIP LOCKED`, so several sweepers (one per worker with beat, or a beat per
replica) never act on the same row twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Row, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import bulk
from podium_shared.operations.celery_app import QUEUE_BULK
from podium_shared.operations.dispatch import queue_for, send_after_commit
from podium_shared.operations.lifecycle import transition
from podium_shared.settings import PodiumSettings, current_settings

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class SweepReport:
    requeued: int = 0
    failed: int = 0
    sent: int = 0
    resent: int = 0
    released: int = 0
    finalised: int = 0
    errors: list[str] = field(default_factory=list)

    def total(self) -> int:
        return self.requeued + self.failed + self.sent + self.resent + self.released + self.finalised


def sweep(
    settings: PodiumSettings | None = None, sessions: sessionmaker[Session] | None = None
) -> SweepReport:
    settings = settings or current_settings()
    sessions = sessions or session_factory(settings.database_url)
    report = SweepReport()
    for step in (_expired_leases, _never_sent, _lost_messages, _bulk_parents):
        try:
            step(sessions, settings, report)
        except Exception as exc:
            # One failing step (a deadlock victim, a short outage) must not stop the others; next run retries.
            log.exception("sweep step %s failed", step.__name__)
            report.errors.append(f"{step.__name__}: {type(exc).__name__}")
    if report.total():
        log.info("sweep: %s", report)
    return report


def _expired_leases(sessions: sessionmaker[Session], settings: PodiumSettings, report: SweepReport) -> None:
    with unit_of_work(sessions) as session:
        ops = session.scalars(
            select(Operation)
            .where(Operation.status == OperationStatus.running, Operation.lease_expires_at < func.now())
            .order_by(Operation.lease_expires_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        by_queue: dict[str, list[Operation]] = {}
        # Parents whose last child this sweep gave up on. Finalised after the loop: finalising audits, and
        # a later child's parent row must not be locked while this transaction holds the audit lock (a
        # worker finishing that parent's child holds its row and waits for the audit lock: deadlock).
        complete: list[Operation] = []
        ended: list[Operation] = []
        for op in ops:
            op.lock_token = None
            op.lease_expires_at = None
            gave_up = op.attempts >= settings.operation_max_attempts
            if gave_up or op.cancel_requested:
                # Not worth another attempt: it keeps killing its worker, or nobody wants it any more.
                op.status = OperationStatus.cancelled if op.cancel_requested else OperationStatus.failed
                op.finished_at = session.scalar(select(func.now()))
                op.sealed_params = None
                op.error = (
                    {"code": "cancelled", "message": "cancelled while its worker was lost"}
                    if op.cancel_requested
                    else {
                        "code": "worker_lost",
                        "message": f"the worker running it stopped responding {op.attempts} times; giving up",
                    }
                )
                if op.parent_id is not None:
                    ended.append(op)
                report.failed += 1
            else:
                op.status = OperationStatus.queued
                op.dispatched_at = func.now()
                op.not_before = None
                by_queue.setdefault(queue_for(op), []).append(op)
                report.requeued += 1
        session.flush()
        # Parent rows in one global order (by id), so two sweepers never lock two parents in opposite orders.
        for op in sorted(ended, key=lambda o: str(o.parent_id)):
            if (parent := bulk.child_finished(session, op)) is not None:
                complete.append(parent)
        for parent in complete:
            bulk.finalise(session, parent)
        for op in ops:
            if op.status.finished:
                transition(session, op, action=f"operation.{op.status.value}", outcome=op.status.value,
                           details={"error": op.error})  # fmt: skip
            else:
                transition(session, op, action="operation.requeued", outcome="requeued",
                           details={"reason": "lease expired (worker lost)"})  # fmt: skip
        for queue, queued in by_queue.items():
            send_after_commit(session, [op.id for op in queued], queue)


def _never_sent(sessions: sessionmaker[Session], settings: PodiumSettings, report: SweepReport) -> None:
    grace = timedelta(seconds=settings.sweep_undispatched_grace_seconds)
    with unit_of_work(sessions) as session:
        rows = session.execute(
            select(Operation.id, Operation.queue, Operation.parent_id)
            .where(
                Operation.status == OperationStatus.queued,
                Operation.dispatched_at.is_(None),
                # Children wait for their parent to release them; only top-level operations are "unsent".
                Operation.parent_id.is_(None),
                Operation.created_at < func.now() - grace,
                or_(Operation.not_before.is_(None), Operation.not_before <= func.now()),
                Operation.cancel_requested.is_(False),
            )
            .order_by(Operation.created_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        _mark_and_send(session, rows)
        report.sent += len(rows)


def _lost_messages(sessions: sessionmaker[Session], settings: PodiumSettings, report: SweepReport) -> None:
    after = timedelta(seconds=settings.sweep_redispatch_after_seconds)
    with unit_of_work(sessions) as session:
        due_since = func.greatest(
            Operation.dispatched_at, func.coalesce(Operation.not_before, Operation.dispatched_at)
        )
        rows = session.execute(
            select(Operation.id, Operation.queue, Operation.parent_id)
            .where(
                Operation.status == OperationStatus.queued,
                Operation.dispatched_at.is_not(None),
                due_since < func.now() - after,
                Operation.cancel_requested.is_(False),
            )
            .order_by(Operation.dispatched_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        _mark_and_send(session, rows)
        report.resent += len(rows)


def _mark_and_send(session: Session, rows: Sequence[Row[uuid.UUID, str, uuid.UUID | None]]) -> None:
    if not rows:
        return
    by_queue: dict[str, list[uuid.UUID]] = {}
    for op_id, queue, parent_id in rows:
        by_queue.setdefault(QUEUE_BULK if parent_id else queue, []).append(op_id)
    session.execute(
        update(Operation)
        .where(Operation.id.in_([row[0] for row in rows]))
        .values(dispatched_at=func.now())
        .execution_options(synchronize_session=False)
    )
    for queue, op_ids in by_queue.items():
        send_after_commit(session, op_ids, queue)


def _bulk_parents(sessions: sessionmaker[Session], settings: PodiumSettings, report: SweepReport) -> None:
    child = aliased(Operation)
    unfinished = exists().where(
        child.parent_id == Operation.id,
        child.status.in_([OperationStatus.queued, OperationStatus.running]),
    )
    waiting = exists().where(
        child.parent_id == Operation.id,
        and_(child.status == OperationStatus.queued, child.dispatched_at.is_(None)),
    )
    with unit_of_work(sessions) as session:
        # A parent row lock first: a child finishing at the same time waits for it, so the in-flight count
        # below cannot race with that child's own release.
        parents = session.scalars(
            select(Operation)
            .where(
                Operation.status == OperationStatus.running,
                Operation.lease_expires_at.is_(None),
                Operation.progress.is_not(None),
                or_(~unfinished, and_(waiting, Operation.cancel_requested.is_(False))),
            )
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for parent in parents:
            if bulk.recount(session, parent):
                report.finalised += 1
                continue
            room = bulk.concurrency_of(parent) - bulk.in_flight(session, parent.id)
            report.released += len(bulk.release(session, parent.id, room))
