from __future__ import annotations

from fastapi import APIRouter, status
from podium_shared.users import accounts, service
from podium_shared.users.schemas import (
    InitialPassword,
    Me,
    PasswordReset,
    TokenCreate,
    UserCreate,
    UserOut,
    UserUpdate,
    UserWithToken,
)

from podium_api.deps import AdminDep, MetaDep, PrincipalDep, SessionDep

router = APIRouter(tags=["users"])


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, principal: AdminDep, meta: MetaDep) -> UserWithToken:
    return service.create(session, principal, meta, body)


@router.get("/users")
def list_users(session: SessionDep, _principal: AdminDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session)]


@router.get("/me")
def me(session: SessionDep, principal: PrincipalDep) -> Me:
    return service.me(session, principal)


@router.post("/users/{username}/password")
def reset_password(
    username: str,
    session: SessionDep,
    principal: AdminDep,
    meta: MetaDep,
    body: PasswordReset | None = None,
) -> InitialPassword:
    """A new one-time console password (generated unless given); the user's sessions end."""
    password = body.password.get_secret_value() if body and body.password else None
    return InitialPassword(
        initial_password=accounts.reset_password(session, principal, meta, username, password)
    )


@router.post("/users/{username}/tokens", status_code=status.HTTP_201_CREATED)
def rotate_token(
    username: str,
    session: SessionDep,
    principal: PrincipalDep,
    meta: MetaDep,
    body: TokenCreate | None = None,
) -> UserWithToken:
    return service.rotate_token(session, principal, meta, username, body or TokenCreate())


@router.patch("/users/{username}")
def update_user(
    username: str, body: UserUpdate, session: SessionDep, principal: AdminDep, meta: MetaDep
) -> UserOut:
    return UserOut.model_validate(service.update(session, principal, meta, username, body))
