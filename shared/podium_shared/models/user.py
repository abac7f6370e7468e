from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ARRAY, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from podium_shared.models.base import Base, CreatedAtMixin, new_id


class Role(enum.StrEnum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}


class User(CreatedAtMixin, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=16))
    # None means every namespace; a list scopes the user's rights (reads and writes) to those namespaces.
    namespaces: Mapped[list[str] | None] = mapped_column(ARRAY(Text), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)
    # argon2id (PHC string) of the console password; None = this user signs in with API tokens only.
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    # Set by an admin-chosen or generated one-time password; cleared when the user picks their own.
    must_change_password: Mapped[bool] = mapped_column(default=False)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")


class ApiToken(CreatedAtMixin, Base):
    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), default="default")
    # SHA-256 of a 256-bit random token. Slow password hashes (argon2) protect guessable secrets; a random
    # token cannot be guessed, and a fast digest keeps per-request authentication cheap (GitHub does this).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="tokens", lazy="raise")
