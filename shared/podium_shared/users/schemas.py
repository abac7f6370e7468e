from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from podium_shared.auth.passwords import MAX_LENGTH, MIN_LENGTH
from podium_shared.models.user import Role

# The shapes auth.service checks, in the schema too (the console's forms and generated types read them).
USERNAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$"
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", max_length=63)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=USERNAME_PATTERN)
    role: Role
    namespaces: list[Namespace] | None = None
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
    namespaces: list[Namespace] | None = None
    disabled: bool | None = None
