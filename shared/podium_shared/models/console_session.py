"""A signed-in browser: the server-side half of the `podium_session` cookie."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from podium_shared.models.base import Base, CreatedAtMixin, new_id


class ConsoleSession(CreatedAtMixin, Base):
    __tablename__ = "console_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the cookie's 256-bit random value: a database leak does not hand out live sessions.
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime]
    # The absolute end, fixed at sign-in; idle expiry is computed from last_seen_at.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
