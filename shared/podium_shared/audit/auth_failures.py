"""Failed authentications of a known user (revoked token, disabled user), audited by every entry point
(REST dependency, WebSocket) alike. A flood of bad attempts must not fill the append-only table: at most
one row per user per interval, decided by a Redis SET NX EX that all API replicas share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from podium_shared.audit.service import record_in_own_transaction


def throttle_key(username: str) -> str:
    return f"podium:authfail:{username}"


def audit_auth_failure(
    sessions: sessionmaker[Session],
    redis: Any,
    *,
    username: str,
    reason: str,
    path: str,
    interval_seconds: int,
    request_id: str | None = None,
    client_addr: str | None = None,
) -> bool:
    """Write an `auth.failed` row in its own transaction (the caller has none worth keeping) unless one
    for `username` was written in the last `interval_seconds`; True if written."""
    if not redis.set(throttle_key(username), "1", nx=True, ex=interval_seconds):
        return False
    record_in_own_transaction(
        sessions,
        actor=username,
        action="auth.failed",
        outcome="denied",
        request_id=request_id,
        client_addr=client_addr,
        details={"reason": reason, "path": path},
    )
    return True
