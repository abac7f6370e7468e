"""Server-side console sessions. The browser holds a 256-bit random value in an HttpOnly cookie; the
database holds only its SHA-256, the absolute expiry and when it was last used. A session ends on logout,
on a password change or reset, when its user is disabled, after `idle` without use, and at `expires_at`.

The CSRF token is an HMAC of the cookie value under the deployment's secret key: the server recomputes it
instead of storing it, and another site can neither read the cookie nor derive the token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from podium_shared.auth.principal import Principal
from podium_shared.auth.service import AuthFailure
from podium_shared.errors import Unauthenticated
from podium_shared.models.base import utcnow
from podium_shared.models.console_session import ConsoleSession
from podium_shared.models.user import User

COOKIE_NAME = "podium_session"
# Writing last_seen_at on every request would be a row update per request; a minute's precision is
# plenty for an idle timeout measured in hours.
_TOUCH_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SessionUser:
    principal: Principal
    session_id: uuid.UUID
    must_change_password: bool


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def csrf_token(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, cookie_value: str, offered: str) -> bool:
    return bool(offered) and hmac.compare_digest(csrf_token(secret_key, cookie_value), offered)


def start(session: Session, user: User, lifetimes: Lifetimes) -> str:
    """Create a session for `user`; returns the cookie value (shown to this browser only)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ConsoleSession(
            user_id=user.id,
            session_hash=_digest(value),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetimes.absolute,
        )
    )
    session.flush()
    return value


def resolve(session: Session, cookie_value: str, lifetimes: Lifetimes) -> SessionUser:
    """The signed-in user of a cookie, or Unauthenticated (AuthFailure when a known user's session may
    not be used, so the caller can audit it)."""
    if not cookie_value:
        raise Unauthenticated("not signed in")
    row = session.execute(
        select(ConsoleSession, User)
        .join(User, ConsoleSession.user_id == User.id)
        .where(ConsoleSession.session_hash == _digest(cookie_value))
    ).first()
    if row is None:
        raise Unauthenticated("your session has ended; sign in again", code="session_expired")
    console_session, user = row[0], row[1]
    now = utcnow()
    ended = (
        console_session.revoked_at is not None
        or now >= console_session.expires_at
        or now - console_session.last_seen_at > lifetimes.idle
    )
    if ended:
        raise Unauthenticated("your session has ended; sign in again", code="session_expired")
    if user.disabled:
        raise AuthFailure(user.username, "user disabled")
    if now - console_session.last_seen_at > _TOUCH_PRECISION:
        session.execute(
            update(ConsoleSession).where(ConsoleSession.id == console_session.id).values(last_seen_at=now)
        )
    return SessionUser(
        principal=Principal(username=user.username, role=user.role, namespaces=user.namespaces),
        session_id=console_session.id,
        must_change_password=user.must_change_password,
    )


def revoke(session: Session, cookie_value: str) -> str | None:
    """End the session of this cookie; returns its user's name if it was live."""
    row = session.execute(
        select(ConsoleSession, User)
        .join(User, ConsoleSession.user_id == User.id)
        .where(ConsoleSession.session_hash == _digest(cookie_value), ConsoleSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    row[0].revoked_at = utcnow()
    session.flush()
    return row[1].username


def revoke_all(session: Session, user: User, *, keep: uuid.UUID | None = None) -> int:
    """End every live session of `user` (but `keep`, the one that asked for it)."""
    stmt = update(ConsoleSession).where(
        ConsoleSession.user_id == user.id, ConsoleSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(ConsoleSession.id != keep)
    result = session.execute(stmt.values(revoked_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]
