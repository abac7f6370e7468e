"""Passwords and sign-in as the API offers them: log in, change one's own password, an admin's one-time
password for another user. Every change of password ends the user's other sessions. Passwords never reach
an audit row, a log line or a response; generated one-time passwords are returned once, to the admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from podium_shared.audit.attempts import audited
from podium_shared.audit.service import record
from podium_shared.auth import passwords, sessions
from podium_shared.auth import service as auth
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.errors import Forbidden, Invalid, NotFound, Unauthenticated
from podium_shared.models.user import User

WRONG_CREDENTIALS = "Wrong username or password."


class LoginRefused(Unauthenticated):
    """Wrong username, wrong password, or a user who may not sign in: one answer for all, so the client
    learns nothing about which; `username` (None when unknown) and `reason` are for the audit log."""

    def __init__(self, username: str | None, reason: str) -> None:
        super().__init__(WRONG_CREDENTIALS, code="invalid_credentials")
        self.username = username
        self.reason = reason


@dataclass(frozen=True)
class LoggedIn:
    user: User
    cookie_value: str


def _audit(
    session: Session, actor: str, meta: RequestMeta, action: str, username: str, **details: object
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        outcome="succeeded",
        resource_kind="user",
        resource_name=username,
        request_id=meta.request_id,
        client_addr=meta.client_addr,
        details=dict(details),
    )


def login(
    session: Session, meta: RequestMeta, username: str, password: str, lifetimes: sessions.Lifetimes
) -> LoggedIn:
    user = auth.get_user(session, username)
    # Verify even for an unknown name (against a dummy hash): the time taken does not reveal which.
    ok = passwords.verify(user.password_hash if user else None, password)
    if user is None:
        raise LoginRefused(None, "unknown user")
    if not ok:
        raise LoginRefused(user.username, "wrong password" if user.password_hash else "no password set")
    if user.disabled:
        raise LoginRefused(user.username, "user disabled")
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    cookie_value = sessions.start(session, user, lifetimes)
    _audit(session, user.username, meta, "auth.login", user.username)
    return LoggedIn(user, cookie_value)


def logout(session: Session, meta: RequestMeta, cookie_value: str) -> None:
    username = sessions.revoke(session, cookie_value)
    if username is not None:
        _audit(session, username, meta, "auth.logout", username)


def change_own_password(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    current: str,
    new: str,
    *,
    current_session: sessions.SessionUser | None,
) -> None:
    user = auth.get_user(session, principal.username)
    if user is None:
        raise NotFound(f"no user {principal.username!r}")
    if not passwords.verify(user.password_hash, current):
        raise audited(
            Forbidden("the current password is wrong", code="wrong_password"),
            principal,
            "user.password_change",
            "denied",
            resource_kind="user",
            resource_name=user.username,
        )
    passwords.validate_new(new)
    if new == current:
        raise Invalid("the new password must differ from the current one", code="weak_password")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    ended = sessions.revoke_all(session, user, keep=current_session.session_id if current_session else None)
    session.flush()
    _audit(session, user.username, meta, "user.password_change", user.username, sessions_ended=ended)


def set_initial_password(user: User, password: str | None) -> str | None:
    """Give `user` a one-time password (the admin's choice, or generated and returned)."""
    chosen = passwords.validate_new(password) if password is not None else None
    clear = chosen or passwords.generate()
    user.password_hash = passwords.hash_password(clear)
    user.must_change_password = True
    return None if chosen else clear


def reset_password(
    session: Session, principal: Principal, meta: RequestMeta, username: str, password: str | None
) -> str | None:
    """Admin (the route checks the role): a new one-time password; the user's sessions end."""
    user = auth.get_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    generated = set_initial_password(user, password)
    ended = sessions.revoke_all(session, user)
    session.flush()
    record(
        session,
        actor=principal.username,
        role=principal.role.value,
        action="user.password_reset",
        outcome="succeeded",
        resource_kind="user",
        resource_name=username,
        request_id=meta.request_id,
        client_addr=meta.client_addr,
        details={"generated": generated is not None, "sessions_ended": ended},
    )
    return generated
