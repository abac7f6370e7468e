"""Queries on operations: visibility for namespace-scoped users, keyset pagination, bulk child updates."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session

from podium_shared.auth.principal import Principal
from podium_shared.errors import Invalid
from podium_shared.models.base import utcnow
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations.schemas import OperationFilter


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
