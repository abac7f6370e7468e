"""The Operation as the API shows it, the command request, and list filters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from podium_shared.models.operation import OperationStatus


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=64)
    cluster: str = Field(min_length=1, max_length=63)
    params: dict[str, Any] = Field(default_factory=dict)


class Progress(BaseModel):
    """Bulk parents count their children; a handler that follows something long reports its own fields
    too (a download: `percent`, `files_done`, `files_total`), which pass through as they are."""

    model_config = ConfigDict(extra="allow")

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


class OperationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    cluster: str
    namespace: str | None = None
    params: dict[str, Any]
    status: OperationStatus
    attempts: int
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    requested_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    parent_id: uuid.UUID | None = None
    progress: Progress | None = None
    concurrency: int | None = None
    cancel_requested: bool = False


class OperationPage(BaseModel):
    items: list[OperationOut]
    # Opaque; pass it back as `cursor` for the next (older) page. None on the last page.
    next_cursor: str | None = None


class OperationFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OperationStatus | None = None
    kind: str | None = None
    cluster: str | None = None
    requested_by: str | None = None
    parent_id: uuid.UUID | None = None


class CommandKindOut(BaseModel):
    name: str
    min_role: str
    queue: str
    secret_fields: list[str]
    expands: bool
    params_schema: dict[str, Any]
