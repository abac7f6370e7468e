from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from podium_shared.models.user import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: Role
    namespaces: list[str] | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: Role
    namespaces: list[str] | None
    disabled: bool = False
    created_at: datetime | None = None


class UserWithToken(BaseModel):
    """Answer of user creation and token rotation: the only time the token is shown."""

    username: str
    role: Role
    namespaces: list[str] | None
    token: str


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=64)
    # Rotation: the old tokens stop working at once. Set false to add a token beside them.
    revoke_existing: bool = True


class Me(BaseModel):
    username: str
    role: Role
    namespaces: list[str] | None


class UserUpdate(BaseModel):
    """Fields left out stay as they are; `namespaces: null` makes the user unscoped."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    namespaces: list[str] | None = None
    disabled: bool | None = None
