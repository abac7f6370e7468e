"""Executing one operation: claim, run with no transaction open, apply the outcome if the claim still holds.

1. Claim: a guarded UPDATE moves the row from `queued` (and due: `not_before` passed) to `running`, counts
   the attempt and stores a fresh lock token and lease. Two deliveries of the same message cannot both
   succeed at it, so at-least-once delivery becomes at-most-one running attempt.
2. Run the kind's handler. A background thread renews the lease while it runs; if the worker dies, the
   lease runs out and the sweep re-queues the operation (handlers are idempotent, so a second run of a
   half-done attempt converges on the same state).
3. Apply the outcome only `WHERE lock_token = <ours>`: a worker that lost its lease (paused, partitioned)
   finds its token gone and drops its result instead of overwriting a newer attempt.

Transient failures go back to `queued` with `not_before = now + backoff` and a countdown message; after
`operation_max_attempts` they fail. Every transition is audited and published (`lifecycle.transition`)."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from podium_shared import crypto
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.errors import Invalid, PodiumError, TransientError
from podium_shared.kube.clients import ClusterClients, clients_for
from podium_shared.kube.errors import classify
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import bulk
from podium_shared.operations.celery_app import QUEUE_BULK
from podium_shared.operations.context import ExecutionContext
from podium_shared.operations.dispatch import queue_for, send_after_commit
from podium_shared.operations.kinds import CommandKind, get_kind
from podium_shared.operations.lifecycle import error_dict, transition
from podium_shared.operations.outcomes import Cancelled
from podium_shared.operations.precheck import ACCEPT_WARNINGS
from podium_shared.settings import PodiumSettings, current_settings

log = logging.getLogger(__name__)


@dataclass
class _Claim:
    op: Operation
    token: uuid.UUID
    kind: CommandKind
    secrets: dict[str, Any]


def execute(
    op_id: uuid.UUID,
    *,
    settings: PodiumSettings | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> OperationStatus | None:
    """Run operation `op_id` once if it is due; returns the status it ended in (None: not ours to run)."""
    return execute_many([op_id], settings=settings, sessions=sessions).get(op_id)


def execute_many(
    op_ids: Sequence[uuid.UUID],
    *,
    settings: PodiumSettings | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> dict[uuid.UUID, OperationStatus | None]:
    """Run several operations (a batch of one bulk's children) as one: one claim transaction, the handlers
    side by side in threads (the Kubernetes client's rate limiter is shared by all of them), one transaction
    for every outcome and its audit row. Each keeps its own attempt, outcome, retry and audit row; one
    lock token and lease cover the batch. Returns each id's final status (None: not ours to run)."""
    settings = settings or current_settings()
    sessions = sessions or session_factory(settings.database_url)
    token = uuid.uuid4()
    claims = _claim(op_ids, token, settings, sessions)
    statuses: dict[uuid.UUID, OperationStatus | None] = dict.fromkeys(op_ids)
    runnable = []
    for claim in claims:
        if claim.kind.expands is not None:
            statuses[claim.op.id] = OperationStatus.running  # a bulk parent: its children carry on from here
        else:
            runnable.append(claim)
    if not runnable:
        return statuses
    contexts = _contexts(runnable, settings, sessions)
    lease = _LeaseKeeper(sessions, token, settings.operation_lease_seconds)
    lease.start()
    try:
        if len(runnable) == 1:
            outcomes = [_run_handler(runnable[0], contexts[0])]
        else:
            with ThreadPoolExecutor(len(runnable), thread_name_prefix="batch") as pool:
                outcomes = list(pool.map(_run_handler, runnable, contexts))
    finally:
        lease.stop()
    statuses.update(_apply(runnable, outcomes, token, settings, sessions))
    return statuses


def _contexts(
    claims: list[_Claim], settings: PodiumSettings, sessions: sessionmaker[Session]
) -> list[ExecutionContext]:
    """One context per claim. A batch's items share their cluster's clients, looked up once (each lookup
    reads the registry); a cluster that cannot be reached now is left to each handler to report."""
    shared: dict[str, ClusterClients | None] = {}
    if len(claims) > 1:
        for cluster in {c.op.cluster for c in claims}:
            try:
                shared[cluster] = clients_for(cluster, settings=settings, sessions=sessions)
            except Exception:
                shared[cluster] = None
    return [
        ExecutionContext(
            operation_id=claim.op.id,
            cluster=claim.op.cluster,
            kind=claim.op.kind,
            namespace=claim.op.namespace,
            attempt=claim.op.attempts,
            requested_by=claim.op.requested_by,
            settings=settings,
            sessions=sessions,
            lock_token=claim.token,
            secrets=claim.secrets,
            _kube=shared.get(claim.op.cluster),
        )
        for claim in claims
    ]


def backoff_seconds(attempt: int, settings: PodiumSettings, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter (AWS architecture blog), never shorter than Retry-After."""
    cap = min(
        settings.operation_backoff_max_seconds,
        settings.operation_backoff_base_seconds * 2 ** max(attempt - 1, 0),
    )
    delay = random.uniform(0.0, cap)  # noqa: S311 - jitter, not cryptography
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.operation_backoff_max_seconds))
    return delay


# --- claim ----------------------------------------------------------------------------------------------


def _claim(
    op_ids: Sequence[uuid.UUID], token: uuid.UUID, settings: PodiumSettings, sessions: sessionmaker[Session]
) -> list[_Claim]:
    lease = timedelta(seconds=settings.operation_lease_seconds)
    with unit_of_work(sessions) as session:
        ops = session.scalars(
            update(Operation)
            .where(
                Operation.id.in_(op_ids),
                Operation.status == OperationStatus.queued,
                Operation.cancel_requested.is_(False),
                or_(Operation.not_before.is_(None), Operation.not_before <= func.now()),
            )
            .values(
                status=OperationStatus.running,
                attempts=Operation.attempts + 1,
                lock_token=token,
                lease_expires_at=func.now() + lease,
                started_at=func.coalesce(Operation.started_at, func.now()),
                not_before=None,
            )
            .returning(Operation)
            .execution_options(populate_existing=True)
        ).all()
        claimed = {op.id for op in ops}
        for op_id in op_ids:
            if op_id not in claimed:
                _not_claimed(session, op_id)
        now = _now(session)
        claims: list[_Claim] = []
        changes: list[_Change] = []
        for op in sorted(ops, key=lambda o: o.id):
            try:
                kind = get_kind(op.kind)
                secrets = _open_secrets(op, settings)
            except PodiumError as exc:
                # Nothing any retry could fix (an unknown kind after a downgrade, unreadable secrets).
                changes.append(_end(session, op, OperationStatus.failed, now, error=error_dict(exc)))
                continue
            if kind.expands is not None:
                bulk.start_parent(session, op)
            else:
                changes.append(_Change(op, "operation.running", "running"))
            claims.append(_Claim(op=op, token=token, kind=kind, secrets=secrets))
        _record(session, changes)
        return claims


def _not_claimed(session: Session, op_id: uuid.UUID) -> None:
    """A delivery that found nothing to do. If it merely came early (a retry countdown that fired before
    `not_before`), send it again for the remaining time so the retry does not wait for the sweep."""
    row = session.execute(
        select(
            Operation.status, Operation.not_before, Operation.parent_id, Operation.queue, func.now()
        ).where(Operation.id == op_id)
    ).one_or_none()
    if row is None:
        log.warning("operation %s does not exist; dropping its message", op_id)
        return
    status, not_before, parent_id, queue, now = row
    if status == OperationStatus.queued and not_before is not None and not_before > now:
        remaining = (not_before - now).total_seconds()
        send_after_commit(session, [op_id], QUEUE_BULK if parent_id else queue, countdown=remaining)


def _open_secrets(op: Operation, settings: PodiumSettings) -> dict[str, Any]:
    if not op.sealed_params:
        return {}
    return crypto.open_sealed(op.sealed_params, secret_key=settings.secret_key.get_secret_value())


def _now(session: Session) -> datetime:
    # now() is the transaction's start time in Postgres: one read serves every row the transaction touches.
    now: datetime | None = session.scalar(select(func.now()))
    assert now is not None
    return now


# --- run ------------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: OperationStatus
    result: dict[str, Any] | None = None
    error: PodiumError | None = None


def _run_handler(claim: _Claim, ctx: ExecutionContext) -> _Outcome:
    try:
        params = claim.kind.params.model_validate({**claim.op.params, **claim.secrets})
        result = claim.kind.handler(ctx, params)
        return _Outcome(OperationStatus.succeeded, result=result or {})
    except Cancelled as exc:
        return _Outcome(OperationStatus.cancelled, error=exc)
    except TransientError as exc:
        return _Outcome(OperationStatus.queued, error=exc)
    except PodiumError as exc:
        return _Outcome(OperationStatus.failed, error=exc)
    except ValidationError as exc:
        # Params were valid at accept time; a change of the kind's model since then makes them invalid now.
        return _Outcome(OperationStatus.failed, error=Invalid(f"invalid params: {exc.errors()[0]['msg']}"))
    except Exception as exc:
        classified = classify(exc)
        if classified.code == "internal_error":
            log.exception("operation %s (%s) raised an unexpected error", claim.op.id, claim.op.kind)
        status = OperationStatus.queued if isinstance(classified, TransientError) else OperationStatus.failed
        return _Outcome(status, error=classified)


# --- apply ----------------------------------------------------------------------------------------------


@dataclass
class _Change:
    """A state written onto a row, still to be audited and published (and, for a retry, re-sent)."""

    op: Operation
    action: str
    outcome: str
    details: dict[str, Any] = field(default_factory=dict)
    retry_in: float | None = None


def _apply(
    claims: list[_Claim],
    outcomes: list[_Outcome],
    token: uuid.UUID,
    settings: PodiumSettings,
    sessions: sessionmaker[Session],
) -> dict[uuid.UUID, OperationStatus | None]:
    with unit_of_work(sessions) as session:
        held = {
            op.id: op
            for op in session.scalars(
                select(Operation)
                .where(Operation.lock_token == token, Operation.status == OperationStatus.running)
                .order_by(Operation.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        now = _now(session)
        statuses: dict[uuid.UUID, OperationStatus | None] = {}
        changes: list[_Change] = []
        for claim, outcome in zip(claims, outcomes, strict=True):
            op = held.get(claim.op.id)
            if op is None:
                # Our lease ran out and the sweep handed the operation to another attempt: its result wins.
                log.warning(
                    "operation %s: claim lost before the outcome was applied; dropping it", claim.op.id
                )
                statuses[claim.op.id] = None
                continue
            changes.append(_settle(session, op, outcome, settings, now))
            statuses[op.id] = op.status
        _record(session, changes)
        return statuses


def _settle(
    session: Session, op: Operation, outcome: _Outcome, settings: PodiumSettings, now: datetime
) -> _Change:
    """Write an attempt's outcome onto its row (claim verified, row locked)."""
    if outcome.status == OperationStatus.queued and op.cancel_requested:
        # Cancelled while this attempt ran into a retryable error: do not queue it again.
        return _end(session, op, OperationStatus.cancelled, now, error=error_dict(Cancelled()))
    if outcome.status == OperationStatus.queued:
        assert isinstance(outcome.error, TransientError)
        if op.attempts < settings.operation_max_attempts:
            return _retry_later(session, op, outcome.error, settings, now)
        final = error_dict(outcome.error, attempts=op.attempts, gave_up=True)
        return _end(session, op, OperationStatus.failed, now, error=final)
    error = error_dict(outcome.error) if outcome.error is not None else None
    return _end(session, op, outcome.status, now, result=outcome.result, error=error)


def _retry_later(
    session: Session, op: Operation, exc: TransientError, settings: PodiumSettings, now: datetime
) -> _Change:
    delay = backoff_seconds(op.attempts, settings, exc.retry_after)
    op.status = OperationStatus.queued
    op.not_before = now + timedelta(seconds=delay)
    op.error = error_dict(exc, attempt=op.attempts, retry_in_seconds=round(delay, 3))
    op.lock_token = None
    op.lease_expires_at = None
    op.dispatched_at = None  # stamped again once the countdown message is out; NULL lets the sweep help
    details = {"error": op.error, "retry_in_seconds": round(delay, 3)}
    return _Change(op, "operation.retry", "retrying", details, retry_in=delay)


def _end(
    session: Session,
    op: Operation,
    status: OperationStatus,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> _Change:
    op.status = status
    accepted = (op.result or {}).get(ACCEPT_WARNINGS)
    # The accept-time warnings (operations.precheck) stay next to whatever the handler returned.
    op.result = {ACCEPT_WARNINGS: accepted, **(result or {})} if accepted else result
    op.error = error
    op.finished_at = now
    op.lock_token = None
    op.lease_expires_at = None
    op.not_before = None
    op.sealed_params = None  # secrets live only as long as the operation can still run
    return _Change(op, f"operation.{status.value}", status.value, {"error": error} if error else {})


def _record(session: Session, changes: list[_Change]) -> None:
    """Audit and publish written states. Bulk bookkeeping first: it locks parent rows, and the audit lock
    must always come last (docs/pipeline.md, "Locks"); a parent whose last child this was is finalised
    (which audits it) after its children's rows."""
    session.flush()  # every row's new state in one flush: the UPDATEs of a batch go out together
    complete = bulk.children_finished(session, [c.op for c in changes if c.op.parent_id is not None])
    for change in changes:
        transition(session, change.op, action=change.action, outcome=change.outcome, details=change.details)
        if change.retry_in is not None:
            send_after_commit(
                session, [change.op.id], queue_for(change.op), countdown=change.retry_in, stamp=True
            )
    for parent in complete:
        bulk.finalise(session, parent)


class _LeaseKeeper:
    """Extends the lease every third of its length while the handlers run (every row the claim's token
    holds: one operation, or a batch)."""

    def __init__(self, sessions: sessionmaker[Session], token: uuid.UUID, lease_seconds: float) -> None:
        self._sessions = sessions
        self._token = token
        self._lease = timedelta(seconds=lease_seconds)
        self._interval = max(lease_seconds / 3.0, 0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{token}", daemon=True)
        self.lost = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with unit_of_work(self._sessions) as session:
                    renewed = session.execute(  # type: ignore[attr-defined]  # a CursorResult
                        update(Operation)
                        .where(Operation.lock_token == self._token)
                        .values(lease_expires_at=func.now() + self._lease)
                        .execution_options(synchronize_session=False)
                    ).rowcount
            except Exception:
                # A short database outage: try again next tick; the lease has two more ticks of slack.
                log.warning("could not renew the lease of claim %s", self._token, exc_info=True)
                continue
            if not renewed:
                self.lost = True
                log.warning("claim %s: lease lost (re-queued by the sweep)", self._token)
                return
