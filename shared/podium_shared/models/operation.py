from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from podium_shared.models.base import Base, CreatedAtMixin, new_id


class OperationStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (OperationStatus.succeeded, OperationStatus.failed, OperationStatus.cancelled)


class Operation(CreatedAtMixin, Base):
    """One accepted mutation. Postgres holds the truth about it; Celery messages only carry its id."""

    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_created", "created_at", "id"),
        # The sweep's two questions: what was committed but never sent, and whose lease ran out.
        Index(
            "ix_operations_unfinished",
            "status",
            "dispatched_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    cluster: Mapped[str] = mapped_column(String(63), index=True)
    # The namespace the operation targets (from its kind's `target`), NULL for cluster-wide ones; lets
    # namespace-scoped users and consoles filter operations without reading params.
    namespace: Mapped[str | None] = mapped_column(String(63), default=None, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)  # secrets redacted before they get here
    # The kind's secret fields, encrypted (podium_shared.crypto); opened only by the worker.
    sealed_params: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    status: Mapped[OperationStatus] = mapped_column(
        Enum(OperationStatus, name="operation_status", native_enum=False, length=16),
        default=OperationStatus.queued,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    requested_by: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    queue: Mapped[str] = mapped_column(String(32), default="commands")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), index=True, default=None
    )
    # Bulk parents: {"total", "succeeded", "failed", "cancelled"}; children update it as they finish.
    progress: Mapped[dict[str, int] | None] = mapped_column(JSONB, default=None)
    # Bulk parents: how many children may run at once.
    concurrency: Mapped[int | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the Celery message was handed to the broker; NULL after commit means "sweep must send it".
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    # Earliest time of the next attempt (retry backoff); the sweep does not resend before it.
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    # The claim of the worker that runs it: a random token and a lease. Results are applied only while
    # the token still matches, so a worker that lost its lease cannot overwrite a newer attempt.
    lock_token: Mapped[uuid.UUID | None] = mapped_column(default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
