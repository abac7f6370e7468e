from __future__ import annotations

import uuid
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: datetime
    actor: str
    role: str | None
    action: str
    cluster: str | None
    namespace: str | None
    resource_kind: str | None
    resource_name: str | None
    outcome: str
    operation_id: uuid.UUID | None
    request_id: str | None
    client_addr: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @field_validator("client_addr", mode="before")
    @classmethod
    def _addr_text(cls, value: object) -> object:
        return str(value) if isinstance(value, IPv4Address | IPv6Address) else value


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None = None


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None
    head_id: int | None = None
    head_hash: str | None = None


CSV_COLUMNS = tuple(AuditEventOut.model_fields)
