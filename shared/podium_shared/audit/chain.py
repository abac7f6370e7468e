"""The hash chain: each row's hash is SHA-256 over a canonical JSON of its fields and the previous row's
hash, so changing, removing or inserting a row anywhere breaks every later link."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class PendingEvent:
    """A row `audit.service.record` will append to the chain when its transaction commits (the columns of
    `AuditEvent`); `id`, `prev_hash` and `hash` are set once it is written.
    A plain object, not an ORM instance: it is never loaded, changed or flushed by the session, and building
    and filling a mapped instance was a fifth of `record`'s CPU (docs/performance-accept.md, "Fourth
    pass")."""

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
    prev_hash: str = ""
    hash: str = ""
    id: int | None = field(default=None)


def _body(event: AuditEvent | PendingEvent) -> dict[str, Any]:
    """The hashed fields, without `prev_hash`."""
    body: dict[str, Any] = {name: getattr(event, name) for name in _FIELDS}
    body["ts"] = _ts(event.ts)
    body["operation_id"] = str(event.operation_id) if event.operation_id else None
    body["client_addr"] = _addr(event.client_addr)
    body["details"] = event.details or {}
    return body


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def canonical(event: AuditEvent | PendingEvent) -> bytes:
    return _dumps({**_body(event), "prev_hash": event.prev_hash})


def canonical_around_prev_hash(event: PendingEvent) -> tuple[bytes, bytes]:
    """`canonical(event)` cut around its `prev_hash` value, which is not known yet: `before + prev_hash +
    after` is the canonical form once it is. The writer sends both parts and Postgres hashes the chain
    while it holds the chain's lock (migration 0010); `verify` recomputes every hash with `canonical`.

    The keys are sorted, so the fields that sort before "prev_hash" (always present, if only as null) form
    `before` and the others `after`; with no spaces in the separators, joining the two dumps around the
    key reproduces the single dump byte for byte (tested against `canonical`)."""
    body = _body(event)
    before = {k: v for k, v in body.items() if k < "prev_hash"}
    after = {k: v for k, v in body.items() if k > "prev_hash"}
    return _dumps(before)[:-1] + b',"prev_hash":"', b'",' + _dumps(after)[1:]


def compute_hash(event: AuditEvent | PendingEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()
