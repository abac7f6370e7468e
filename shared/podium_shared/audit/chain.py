"""The hash chain: each row's hash is SHA-256 over a canonical JSON of its fields and the previous row's
hash, so changing, removing or inserting a row anywhere breaks every later link."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

from podium_shared.models.audit import AuditEvent

GENESIS = "0" * 64

_FIELDS = (
    "actor",
    "role",
    "action",
    "cluster",
    "namespace",
    "resource_kind",
    "resource_name",
    "outcome",
    "request_id",
)


def _ts(value: datetime) -> str:
    # Postgres keeps microseconds and returns the session's zone; UTC ISO text is stable across both.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _addr(value: object) -> str | None:
    if value is None:
        return None
    return str(ipaddress.ip_address(str(value).split("/")[0]))


def canonical(event: AuditEvent) -> bytes:
    body: dict[str, Any] = {name: getattr(event, name) for name in _FIELDS}
    body["ts"] = _ts(event.ts)
    body["operation_id"] = str(event.operation_id) if event.operation_id else None
    body["client_addr"] = _addr(event.client_addr)
    body["details"] = event.details or {}
    body["prev_hash"] = event.prev_hash
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()
