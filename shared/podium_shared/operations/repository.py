"""Queries on operations: new operations written together, visibility for namespace-scoped users, keyset
pagination, bulk child updates."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, event, inspect, or_, select, text, update
from sqlalchemy.orm import Session, make_transient_to_detached

from podium_shared.auth.principal import Principal
from podium_shared.db.final import FinalStatement, final_writer, run_now
from podium_shared.db.session import transaction_scoped, transaction_scoped_value
from podium_shared.errors import Invalid
from podium_shared.models.base import utcnow
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations.schemas import OperationFilter

_NEW = "podium.operations.new"
# (attribute, column) of every column, and what an attribute left unset gets: its scalar default, else
# None; a column whose default is computed (the id, created_at) must be set by whoever builds the row.
_COLUMNS = [(prop.key, prop.columns[0]) for prop in inspect(Operation).column_attrs]
_DEFAULTS = {
    key: column.default.arg if column.default is not None and column.default.is_scalar else None
    for key, column in _COLUMNS
    if column.default is None or column.default.is_scalar
}
_NAMES = ", ".join(column.name for _, column in _COLUMNS)
# One statement of constant shape for any number of rows (its parse is cached), typed by the table's own
# row type; rows are inserted in array order.
_INSERT_NEW = text(
    f"INSERT INTO operations ({_NAMES}) SELECT {_NAMES}"  # noqa: S608 - column names from the model
    " FROM json_populate_recordset(NULL::operations, CAST(:rows AS json))"
)


def add_new(session: Session, op: Operation) -> None:
    """`session.add(op)` for an operation being created, without the ORM's unit of work: the operations a
    transaction creates (a group commit's dozens of commands, a bulk's thousand children) are written in
    one INSERT, before the next statement the session runs or at its commit, whichever comes first, so any
    later query of the transaction sees them, as it would see autoflushed ones. The unit of work cost
    ~0.2 ms of CPU per row and a round trip per flush (docs/performance-accept.md, "Fifth pass"). Once
    written, `op` is a persistent object of the session as if it had been flushed. Children go in the same
    INSERT, after their parent (foreign keys are checked at the statement's end); a row the ORM flushes that
    refers to `op` (an idempotency key) needs `write_new` first."""
    for key, default in _DEFAULTS.items():
        if key not in op.__dict__:
            setattr(op, key, default)
    pending: list[Operation] = transaction_scoped(session, _NEW, list)[0]
    pending.append(op)


def write_new(session: Session) -> None:
    """Write the operations `add_new` holds for this transaction (if any)."""
    if (statement := _insert_new(session)) is not None:
        run_now(session, statement)


@final_writer
def _insert_new(session: Session) -> FinalStatement | None:
    pending: list[Operation] | None = transaction_scoped_value(session, _NEW)
    if not pending:
        return None
    ops, pending[:] = list(pending), []  # emptied first: the INSERT below is a statement of the session too

    def written(_rows: object) -> None:
        for op in ops:
            # Loaded state, not pending changes: the session will not INSERT it again, and every column is
            # set (`add_new`), so reading one never goes back to the database.
            make_transient_to_detached(op)
            session.add(op)

    return FinalStatement(_INSERT_NEW, {"rows": _rows_json(ops)}, written)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(orm_execute_state: Any) -> None:
    write_new(orm_execute_state.session)


def _rows_json(ops: list[Operation]) -> str:
    rows = []
    for op in ops:
        row: dict[str, Any] = {}
        for key, column in _COLUMNS:
            value = op.__dict__.get(key)
            if value is None and key not in op.__dict__:
                raise ValueError(f"operation {op.id}: {key} has a computed default and was not set")
            row[column.name] = "\\x" + value.hex() if isinstance(value, bytes) else value
        rows.append(row)
    try:
        # orjson writes UUIDs, datetimes (ISO with offset) and enums as Postgres reads them back.
        return orjson.dumps(rows).decode()
    except TypeError:  # an integer beyond 64 bits in params: the standard encoder takes any size
        return json.dumps(rows, default=str)


def visible_to(principal: Principal) -> ColumnElement[bool] | None:
    """Scoped users see operations in their namespaces and the ones they asked for themselves."""
    if principal.namespaces is None:
        return None
    return or_(Operation.namespace.in_(principal.namespaces), Operation.requested_by == principal.username)


def get(session: Session, op_id: uuid.UUID, *, for_update: bool = False) -> Operation | None:
    stmt = select(Operation).where(Operation.id == op_id)
    if for_update:
        # The locked read must win over anything this session loaded before the lock was granted.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def encode_cursor(op: Operation) -> str:
    raw = json.dumps([op.created_at.isoformat(), str(op.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, op_id = json.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(op_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Invalid("cursor is not one this API handed out", code="invalid_cursor") from exc


def page(
    session: Session, principal: Principal, f: OperationFilter, *, limit: int, cursor: str | None
) -> tuple[list[Operation], str | None]:
    """Newest first, keyset-paginated on (created_at, id): stable while new operations arrive."""
    stmt: Select[Operation] = select(Operation)
    conditions: list[Any] = []
    if f.status is not None:
        conditions.append(Operation.status == f.status)
    if f.kind:
        conditions.append(Operation.kind == f.kind)
    if f.cluster:
        conditions.append(Operation.cluster == f.cluster)
    if f.requested_by:
        conditions.append(Operation.requested_by == f.requested_by)
    if f.parent_id:
        conditions.append(Operation.parent_id == f.parent_id)
    scope = visible_to(principal)
    if scope is not None:
        conditions.append(scope)
    if cursor:
        created, op_id = decode_cursor(cursor)
        conditions.append(
            or_(Operation.created_at < created, and_(Operation.created_at == created, Operation.id < op_id))
        )
    if conditions:
        stmt = stmt.where(*conditions)
    rows = list(
        session.scalars(stmt.order_by(Operation.created_at.desc(), Operation.id.desc()).limit(limit + 1))
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def cancel_queued_children(session: Session, parent_id: uuid.UUID) -> int:
    """Children not yet started become cancelled; running ones finish (they see cancel_requested)."""
    result = session.execute(
        update(Operation)
        .where(Operation.parent_id == parent_id, Operation.status == OperationStatus.queued)
        .values(
            status=OperationStatus.cancelled,
            finished_at=utcnow(),
            error={"code": "cancelled", "message": "cancelled before it started"},
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
