from __future__ import annotations

from fastapi import APIRouter, status
from podium_shared.users import service
from podium_shared.users.schemas import Me, TokenCreate, UserCreate, UserOut, UserUpdate, UserWithToken

from podium_api.deps import AdminDep, MetaDep, PrincipalDep, SessionDep

router = APIRouter(tags=["users"])


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, principal: AdminDep, meta: MetaDep) -> UserWithToken:
    return service.create(session, principal, meta, body)


@router.get("/users")
def list_users(session: SessionDep, _principal: AdminDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session)]


@router.get("/me")
def me(principal: PrincipalDep) -> Me:
    return Me(username=principal.username, role=principal.role, namespaces=principal.namespaces)


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
