"""Denied and invalid attempts: services raise the error with the audit record attached, and the boundary
(the API's error handler) writes it in its own transaction after rolling back the request's."""

from __future__ import annotations

from typing import Any

from podium_shared.auth.principal import Principal
from podium_shared.errors import PodiumError

_ATTR = "_podium_audit"


def audited(
    exc: PodiumError, principal: Principal | None, action: str, outcome: str, **fields: Any
) -> PodiumError:
    details = dict(fields.pop("details", None) or {})
    details.setdefault("error", {"code": exc.code, "message": exc.message})
    record: dict[str, Any] = {
        "actor": principal.username if principal else "anonymous",
        "role": principal.role.value if principal else None,
        "action": action,
        "outcome": outcome,
        "details": details,
        **fields,
    }
    setattr(exc, _ATTR, record)
    return exc


def pending_audit(exc: PodiumError) -> dict[str, Any] | None:
    record = getattr(exc, _ATTR, None)
    return dict(record) if isinstance(record, dict) else None
