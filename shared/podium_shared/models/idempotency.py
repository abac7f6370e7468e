from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from podium_shared.models.base import Base, CreatedAtMixin


class IdempotencyKey(CreatedAtMixin, Base):
    """`Idempotency-Key` of a mutating request, per actor: the same key and body give the same operation."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    operation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
