from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from podium_shared.auth.passwords import MAX_LENGTH, MIN_LENGTH
from podium_shared.models.user import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: Role
    namespaces: list[str] | None = None
    # The first console password, one-time: the user must change it at first sign-in. Left out, one is
    # generated and returned once as `initial_password`.
    password: SecretStr | None = Field(default=None, min_length=MIN_LENGTH, max_length=MAX_LENGTH)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: Role
    namespaces: list[str] | None
    disabled: bool = False
    must_change_password: bool = False
    created_at: datetime | None = None


class UserWithToken(BaseModel):
    """Answer of user creation and token rotation: the only time the token is shown."""

    username: str
    role: Role
    namespaces: list[str] | None
    token: str
    # Only when the server generated the user's one-time console password: shown this once.
    initial_password: str | None = None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=64)
    # Rotation: the old tokens stop working at once. Set false to add a token beside them.
    revoke_existing: bool = True


class Me(BaseModel):
    username: str
    role: Role
    namespaces: list[str] | None
    # A console session whose user holds a one-time password may only change it (and read this).
    must_change_password: bool = False


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Left out, a one-time password is generated and returned.
    password: SecretStr | None = Field(default=None, min_length=MIN_LENGTH, max_length=MAX_LENGTH)


class InitialPassword(BaseModel):
    """A generated one-time password, shown once; null when the admin chose it."""

    initial_password: str | None


class UserUpdate(BaseModel):
    """Fields left out stay as they are; `namespaces: null` makes the user unscoped."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    namespaces: list[str] | None = None
    disabled: bool | None = None
