"""`Idempotency-Key`: per actor, the same key and the same request body give the same operation; the
same key with another body is a client bug and answers 409.

Two requests with one key can race; a transaction-scoped advisory lock on (actor, key) makes the second
wait for the first to commit and then find its row."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from podium_shared.errors import Conflict, Invalid
from podium_shared.models.idempotency import IdempotencyKey

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def validate_key(key: str) -> str:
    if not _KEY.match(key):
        raise Invalid("Idempotency-Key must be 1-255 printable ASCII characters without spaces")
    return key


def lookup(session: Session, actor: str, key: str, body_hash: str) -> uuid.UUID | None:
    """The operation already created for this key, None if the key is new (then the caller creates the
    operation and calls `remember` in the same transaction)."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"{actor}\n{key}", 0))))
    row = session.get(IdempotencyKey, (actor, key))
    if row is None:
        return None
    if row.request_hash != body_hash:
        raise Conflict(
            "this Idempotency-Key was already used with a different request",
            code="idempotency_key_reused",
        )
    return row.operation_id


def remember(session: Session, actor: str, key: str, body_hash: str, operation_id: uuid.UUID) -> None:
    session.add(IdempotencyKey(actor=actor, key=key, request_hash=body_hash, operation_id=operation_id))
    session.flush()
