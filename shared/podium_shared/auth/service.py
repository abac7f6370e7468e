"""Users and tokens at the storage level: authenticate a bearer token, create users, issue tokens.
Authorisation and audit of user management (and the audited first-admin bootstrap) live in
`podium_shared.users`, one layer up, so auth never imports audit."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from podium_shared.auth import passwords, tokens
from podium_shared.auth.cache import PRINCIPAL_UNCHANGED
from podium_shared.auth.principal import Principal
from podium_shared.errors import Conflict, Invalid, Unauthenticated
from podium_shared.models.base import utcnow
from podium_shared.models.user import ApiToken, Role, User

USERNAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$")
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Recording every use would write a row per request; a minute's precision is enough to spot stale tokens.
_LAST_USED_PRECISION = timedelta(minutes=1)


class AuthFailure(Unauthenticated):
    """A token that belongs to a known user but may not be used (revoked, user disabled). Carries the
    username for the audit log; the client sees only the generic 401."""

    def __init__(self, username: str, reason: str) -> None:
        super().__init__("invalid or expired token")
        self.username = username
        self.reason = reason


def authenticate(session: Session, token: str) -> Principal:
    if not token:
        raise Unauthenticated("missing bearer token")
    row = session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == tokens.digest(token))
    ).first()
    if row is None:
        raise Unauthenticated("invalid or expired token")
    api_token, user = row[0], row[1]
    if api_token.revoked_at is not None:
        raise AuthFailure(user.username, "token revoked")
    if user.disabled:
        raise AuthFailure(user.username, "user disabled")
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at > _LAST_USED_PRECISION:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == api_token.id)
            .values(last_used_at=now)
            .execution_options(**{PRINCIPAL_UNCHANGED: True})
        )
    return Principal(username=user.username, role=user.role, namespaces=user.namespaces)


def validate_username(username: str) -> str:
    if not USERNAME.match(username):
        raise Invalid(
            "a username is 1-64 lowercase letters, digits, '.', '_' or '-', starting and ending with "
            "a letter or digit",
            details={"field": "username"},
        )
    return username


def validate_namespaces(namespaces: list[str] | None) -> list[str] | None:
    if namespaces is None:
        return None
    bad = [ns for ns in namespaces if not NAMESPACE.match(ns)]
    if bad:
        raise Invalid("namespaces must be DNS-1123 labels", details={"field": "namespaces", "invalid": bad})
    return sorted(set(namespaces))


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def issue_token(session: Session, user: User, *, name: str = "default", token: str | None = None) -> str:
    clear = token or tokens.generate()
    session.add(ApiToken(user_id=user.id, name=name[:64], token_hash=tokens.digest(clear)))
    session.flush()
    return clear


def revoke_tokens(session: Session, user: User) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def create_user(
    session: Session, username: str, role: Role, namespaces: list[str] | None = None
) -> tuple[User, str]:
    """Returns the user and its first token in clear; only the token's digest is stored."""
    validate_username(username)
    if get_user(session, username) is not None:
        raise Conflict(f"user {username!r} already exists", code="user_exists")
    user = User(username=username, role=Role(role), namespaces=validate_namespaces(namespaces))
    session.add(user)
    session.flush()
    return user, issue_token(session, user)


def ensure_password(session: Session, username: str, password: str) -> bool:
    """Give `username` this console password if they have none yet (an admin bootstrapped before
    passwords existed); True when `password` is their password now, False when they changed it."""
    user = get_user(session, username)
    if user is None:
        return False
    if user.password_hash is None:
        user.password_hash = passwords.hash_password(passwords.validate_new(password))
        session.flush()
        return True
    return passwords.verify(user.password_hash, password)
