"""User management as the API offers it: authorised and audited. Storage-level helpers are in
`podium_shared.auth.service`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from podium_shared.audit.attempts import audited
from podium_shared.audit.service import record, record_request
from podium_shared.auth import service as auth
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.auth.tokens import MIN_CUSTOM_TOKEN_LENGTH
from podium_shared.errors import Conflict, Forbidden, Invalid, NotFound, PodiumError
from podium_shared.models.user import Role, User
from podium_shared.users.schemas import TokenCreate, UserCreate, UserUpdate, UserWithToken


def _audit(
    session: Session, principal: Principal, meta: RequestMeta, action: str, username: str, **details: object
) -> None:
    record_request(
        session, principal, meta, action=action, resource_kind="user", resource_name=username, details=details
    )


def create(session: Session, principal: Principal, meta: RequestMeta, body: UserCreate) -> UserWithToken:
    try:
        user, token = auth.create_user(session, body.username, body.role, body.namespaces)
    except PodiumError as exc:
        raise audited(
            exc, principal, "user.create", "invalid", resource_kind="user", resource_name=body.username[:253]
        ) from None
    _audit(
        session,
        principal,
        meta,
        "user.create",
        user.username,
        role=user.role.value,
        namespaces=user.namespaces,
    )
    _audit(session, principal, meta, "token.create", user.username, name="default")
    return UserWithToken(username=user.username, role=user.role, namespaces=user.namespaces, token=token)


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def rotate_token(
    session: Session, principal: Principal, meta: RequestMeta, username: str, body: TokenCreate
) -> UserWithToken:
    """An admin issues tokens for anyone; every user may rotate their own."""
    if principal.username != username and not principal.has_role(Role.admin):
        raise audited(
            Forbidden("only an admin can issue tokens for another user"),
            principal,
            "token.rotate",
            "denied",
            resource_kind="user",
            resource_name=username,
        )
    user = auth.get_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    revoked = auth.revoke_tokens(session, user) if body.revoke_existing else 0
    token = auth.issue_token(session, user, name=body.name)
    _audit(session, principal, meta, "token.rotate", username, name=body.name, revoked=revoked)
    return UserWithToken(username=user.username, role=user.role, namespaces=user.namespaces, token=token)


def update(
    session: Session, principal: Principal, meta: RequestMeta, username: str, body: UserUpdate
) -> User:
    """Change role, namespaces or disabled (admin; the route checks the role). An admin cannot demote or
    disable themselves, so a deployment never locks out its last admin by accident."""
    user = auth.get_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    changes = body.model_dump(exclude_unset=True)
    if username == principal.username and (
        changes.get("disabled") or changes.get("role", Role.admin) != Role.admin
    ):
        raise audited(
            Conflict("you cannot demote or disable yourself; ask another admin", code="self_lockout"),
            principal,
            "user.update",
            "invalid",
            resource_kind="user",
            resource_name=username,
        )
    if "namespaces" in changes:
        user.namespaces = auth.validate_namespaces(body.namespaces)
    if body.role is not None:
        user.role = body.role
    if body.disabled is not None:
        user.disabled = body.disabled
    session.flush()
    _audit(session, principal, meta, "user.update", username, **changes)
    return user


def bootstrap_admin(session: Session, username: str, token: str | None) -> str | None:
    """Create the first admin when no user exists yet; returns its token, or None if users exist."""
    # Two processes starting at once must not both bootstrap; the lock serialises the check and insert.
    session.execute(select(func.pg_advisory_xact_lock(0x424F4F54)))  # "BOOT"
    if session.scalar(select(func.count()).select_from(User)):
        return None
    if token is not None and len(token) < MIN_CUSTOM_TOKEN_LENGTH:
        raise Invalid(f"the bootstrap admin token must be at least {MIN_CUSTOM_TOKEN_LENGTH} characters")
    auth.validate_username(username)
    user = User(username=username, role=Role.admin, namespaces=None)
    session.add(user)
    session.flush()
    clear = auth.issue_token(session, user, name="bootstrap", token=token)
    record(
        session,
        actor="system",
        action="user.bootstrap",
        outcome="succeeded",
        resource_kind="user",
        resource_name=username,
        details={"role": Role.admin.value, "chosen_by_settings": token is not None},
    )
    return clear
