from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, String
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from podium_shared.models.base import Base, utcnow


class AuditEvent(Base):
    """Append-only and hash-chained: a trigger rejects UPDATE/DELETE/TRUNCATE (see the migration), and each
    row's hash covers the previous row's hash, so `audit verify` finds any row altered behind the trigger."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    cluster: Mapped[str | None] = mapped_column(String(63), default=None)
    namespace: Mapped[str | None] = mapped_column(String(63), default=None)
    resource_kind: Mapped[str | None] = mapped_column(String(64), default=None)
    resource_name: Mapped[str | None] = mapped_column(String(253), default=None, index=True)
    # accepted | running | succeeded | failed | cancelled | denied | invalid | rate_limited | ...
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    operation_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    client_addr: Mapped[str | None] = mapped_column(INET, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
