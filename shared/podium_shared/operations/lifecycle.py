"""The two things every state change of an operation does besides the UPDATE itself: an audit row and an
event. Both are registered on the caller's session: the audit row is part of the transaction (so the change
and its record commit together), the event leaves only after the commit.

Callers record as late in their transaction as they can: the audit chain is serialised by a lock held until
commit, and every other lock (the operation rows) must be taken before it so transactions never wait on each
other in opposite orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from podium_shared.audit.service import record
from podium_shared.errors import PodiumError
from podium_shared.models.operation import Operation
from podium_shared.operations import events
from podium_shared.operations.kinds import Target, get_kind

# The audit actor of transitions made by the pipeline itself (the requester is in the accept record and
# in `details.requested_by`).
SYSTEM_ACTOR = "system:worker"


def transition(
    session: Session,
    op: Operation,
    *,
    action: str,
    outcome: str,
    details: dict[str, Any] | None = None,
    event: str = "MODIFIED",
) -> None:
    """Audit `op`'s new state and publish it after the commit. `op` must hold its new, flushed state."""
    target = target_of(op)
    record(
        session,
        actor=SYSTEM_ACTOR,
        action=action,
        outcome=outcome,
        cluster=op.cluster,
        namespace=op.namespace,
        resource_kind=target.resource_kind,
        resource_name=target.resource_name,
        operation_id=op.id,
        request_id=op.request_id,
        details={
            "requested_by": op.requested_by,
            "kind": op.kind,
            "attempts": op.attempts,
            **(details or {}),
        },
    )
    events.operation_changed(session, op, event)


def target_of(op: Operation) -> Target:
    """What the operation changes, so audit searches by resource find its whole lifecycle."""
    try:
        kind = get_kind(op.kind)
        return kind.target(kind.params.model_validate(op.params))
    except (PodiumError, ValueError):
        # Stored params carry "***" for secrets, which a strict model may refuse; the id still identifies it.
        return Target(namespace=op.namespace, resource_kind="operation", resource_name=str(op.id))


def error_dict(exc: PodiumError, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": exc.code, "message": exc.message}
    details = {**exc.details, **extra}
    if details:
        out["details"] = details
    return out
