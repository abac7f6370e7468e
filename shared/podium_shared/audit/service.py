"""Writing, reading and verifying the audit log.

Writers are serialised with a transaction-scoped advisory lock: the next row's `prev_hash` is the last
committed row's hash, and two transactions reading the same "last row" would fork the chain. A
transaction's rows are kept until it commits and then chained and written in one call that takes the lock
(`podium_audit_append`, migration 0010); the commit releases it, so the lock is held only for the commit."""

from __future__ import annotations

import base64
import ipaddress
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from podium_shared.audit.chain import GENESIS, PendingEvent, canonical_around_prev_hash, compute_hash
from podium_shared.audit.redact import redact
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.db.final import FinalStatement, last_final_writer
from podium_shared.db.session import transaction_scoped, transaction_scoped_value, unit_of_work
from podium_shared.models.audit import AuditEvent
from podium_shared.models.base import utcnow

# Any constant unique to this lock; pg_advisory_xact_lock takes a bigint.
_CHAIN_LOCK = 0x504F4449554D  # "PODIUM"
# What a transaction keeps while it lasts (`transaction_scoped`): the rows it will write when it commits,
# and the rows `record_request_at_commit` leaves to be recorded when it commits.
_ROWS = "podium.audit.rows"
_AT_COMMIT = "podium.audit.at_commit"
_COLUMNS = (
    "actor", "role", "action", "cluster", "namespace", "resource_kind", "resource_name", "outcome",
    "request_id", "client_addr", "details",
)  # fmt: skip
# The lock, the newest hash, each row's hash and the INSERT in one round trip. The rows travel as one JSON
# array, typed inside by the table's own row type: one parameter of constant shape whatever the number of
# rows (its parse is cached), and one string to encode, where fifteen typed arrays cost psycopg more CPU
# than the rest of the INSERT (docs/performance-accept.md, "Fourth pass"). The comment keeps the lock
# visible to whoever reads the statement log.
_APPEND = text(
    "SELECT event_id, event_prev_hash, event_hash FROM podium_audit_append(:k, CAST(:rows AS json))"
    " /* pg_advisory_xact_lock, the newest hash, then the rows in chain order */"
)


def _client_addr(value: str | None) -> str | None:
    """The INET column takes only addresses; test clients and proxies sometimes hand us a name."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    # Hash exactly what JSONB will give back: plain JSON types only.
    result: dict[str, Any] = json.loads(json.dumps(redact(details), default=str))
    return result


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    outcome: str,
    role: str | None = None,
    cluster: str | None = None,
    namespace: str | None = None,
    resource_kind: str | None = None,
    resource_name: str | None = None,
    operation_id: uuid.UUID | str | None = None,
    request_id: str | None = None,
    client_addr: str | None = None,
    details: dict[str, Any] | None = None,
) -> PendingEvent:
    """Append one hash-chained event when the caller's boundary commits (`_write_rows`); its `id`,
    `prev_hash` and `hash` are set then."""
    event = PendingEvent(
        ts=utcnow(),
        actor=actor[:64],
        role=str(role) if role is not None else None,
        action=action[:64],
        cluster=cluster,
        namespace=namespace,
        resource_kind=resource_kind,
        resource_name=resource_name[:253] if resource_name else None,
        outcome=outcome[:16],
        operation_id=uuid.UUID(str(operation_id)) if operation_id else None,
        request_id=request_id[:64] if request_id else None,
        client_addr=_client_addr(client_addr),
        details=_jsonable(details or {}),
    )
    rows: list[PendingEvent] = transaction_scoped(session, _ROWS, list)[0]
    rows.append(event)
    return event


@last_final_writer
def _write_rows(session: Session) -> FinalStatement | None:
    """A transaction's audit rows go out as one call, the last statement before it commits: it takes the
    chain's lock (which the commit releases), links the first row to the newest one and each next row to
    the one before it, and inserts them in the order they were recorded, so ids ascend with the chain.
    Written without the ORM's unit of work, which cost a bulk batch more than the rest of its bookkeeping;
    each event gets its id and hashes back. Rows left for the commit (`record_request_at_commit`) are
    recorded first. A rolled-back transaction's rows are never written: they live as long as it does
    (`transaction_scoped`)."""
    at_commit: list[dict[str, Any]] | None = transaction_scoped_value(session, _AT_COMMIT)
    for fields in at_commit or ():
        record(session, **fields)
    if at_commit:
        at_commit.clear()
    events: list[PendingEvent] | None = transaction_scoped_value(session, _ROWS)
    if not events:
        return None
    written, events[:] = list(events), []

    def chained(rows: Sequence[Sequence[Any]]) -> None:
        for e, (event_id, prev_hash, event_hash) in zip(written, rows, strict=True):
            e.id, e.prev_hash, e.hash = event_id, prev_hash, event_hash

    return FinalStatement(_APPEND, {"k": _CHAIN_LOCK, "rows": _rows_json(written)}, chained)


def _rows_json(events: list[PendingEvent]) -> str:
    rows = []
    for e in events:
        row = {name: getattr(e, name) for name in _COLUMNS}
        row["ts"] = e.ts.isoformat()  # with its offset and microseconds: exactly what was hashed
        row["operation_id"] = str(e.operation_id) if e.operation_id else None
        before, after = canonical_around_prev_hash(e)
        row["hash_before"] = base64.b64encode(before).decode()
        row["hash_after"] = base64.b64encode(after).decode()
        rows.append(row)
    # `details` went through JSON already (`_jsonable`): plain types, the encoding it was hashed from.
    return json.dumps(rows)


def record_request(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    *,
    action: str,
    outcome: str = "succeeded",
    **fields: Any,
) -> PendingEvent:
    """`record` for what a person asked for: actor and role come from the principal, request id and
    client address from the request. `fields` are `record`'s other keywords (cluster, resource_*, …)."""
    return record(
        session,
        actor=principal.username,
        role=principal.role.value,
        action=action,
        outcome=outcome,
        request_id=meta.request_id,
        client_addr=meta.client_addr,
        **fields,
    )


def record_request_at_commit(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    *,
    action: str,
    outcome: str = "succeeded",
    **fields: Any,
) -> None:
    """`record_request`, stamped and redacted as the transaction commits, not now. Every row is written
    (and the chain's lock taken) at the commit anyway (`_write_rows`); this one's `ts` is the commit's
    moment too, and the work of building it is left out of the request's critical section. For callers
    that do not need the event object; a rolled-back transaction writes nothing, as before."""
    pending: list[dict[str, Any]] = transaction_scoped(session, _AT_COMMIT, list)[0]
    pending.append(
        {
            "actor": principal.username,
            "role": principal.role.value,
            "action": action,
            "outcome": outcome,
            "request_id": meta.request_id,
            "client_addr": meta.client_addr,
            **fields,
        }
    )


def record_in_own_transaction(factory: sessionmaker[Session], **fields: Any) -> None:
    """For denied and invalid attempts: the request's own transaction is rolled back, the record stays."""
    with unit_of_work(factory) as session:
        record(session, **fields)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None
    # The newest verified link. A chain cannot show that rows were cut off its end; an auditor who notes
    # the head (id, hash) can later check that it is still there.
    head_id: int | None = None
    head_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "broken_at": self.broken_at,
            "reason": self.reason,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
        }


def verify(session: Session, *, batch: int = 1000) -> VerifyResult:
    """Walk the chain in id order; report the first row whose link or content does not check out."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(
                ok=True, checked=checked, head_id=last_id or None, head_hash=prev if last_id else None
            )
        for row in rows:
            if row.prev_hash != prev:
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    broken_at=row.id,
                    reason="prev_hash does not match the previous row's hash (a row was removed, "
                    "inserted or altered before this one)",
                )
            if compute_hash(row) != row.hash:
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    broken_at=row.id,
                    reason="hash does not match the row's content (the row was altered)",
                )
            prev = row.hash
            checked += 1
            last_id = row.id
            session.expunge(row)  # a long log must not pile up in the identity map


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    resource: str | None = None  # matches resource_name, or "kind/name"
    outcome: str | None = None
    cluster: str | None = None
    operation_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Namespace-scoped readers see rows in their namespaces and their own actions, nothing else.
    scope_namespaces: tuple[str, ...] | None = None
    scope_actor: str | None = None


def filtered(f: AuditFilter) -> Select[AuditEvent]:
    stmt = _scoped(select(AuditEvent), f)
    if f.actor:
        stmt = stmt.where(AuditEvent.actor == f.actor)
    if f.action:
        # `command.` matches every command; an exact action name matches itself.
        if f.action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == f.action)
    if f.resource:
        kind, sep, name = f.resource.partition("/")
        if sep:
            # Kinds are written as "deployment" by some domains and "Deployment" by others.
            stmt = stmt.where(
                func.lower(AuditEvent.resource_kind) == kind.lower(), AuditEvent.resource_name == name
            )
        else:
            stmt = stmt.where(AuditEvent.resource_name == f.resource)
    if f.outcome:
        stmt = stmt.where(AuditEvent.outcome == f.outcome)
    if f.cluster:
        stmt = stmt.where(AuditEvent.cluster == f.cluster)
    if f.operation_id:
        stmt = stmt.where(AuditEvent.operation_id == f.operation_id)
    if f.since:
        stmt = stmt.where(AuditEvent.ts >= f.since)
    if f.until:
        stmt = stmt.where(AuditEvent.ts < f.until)
    return stmt


def _scoped(stmt: Select[AuditEvent], f: AuditFilter) -> Select[AuditEvent]:
    if f.scope_namespaces is None:
        return stmt
    return stmt.where(
        or_(AuditEvent.namespace.in_(f.scope_namespaces), AuditEvent.actor == (f.scope_actor or ""))
    )


def list_events(
    session: Session, f: AuditFilter, *, limit: int, before_id: int | None = None
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, keyset-paginated on id (ids grow with time: one writer at a time takes them)."""
    stmt = filtered(f)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    rows = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    next_before = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_before


def last_id(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


def iter_events(
    factory: sessionmaker[Session], f: AuditFilter, *, batch: int = 500, upto: int | None = None
) -> Iterator[AuditEvent]:
    """Oldest first, in batches, each batch in a short read-only session (exports can be long). `upto`
    pins the export to the log as it was when it started, however much is written meanwhile."""
    after = 0
    while True:
        stmt = filtered(f).where(AuditEvent.id > after)
        if upto is not None:
            stmt = stmt.where(AuditEvent.id <= upto)
        with factory() as session:
            rows = list(session.scalars(stmt.order_by(AuditEvent.id).limit(batch)))
            session.expunge_all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
