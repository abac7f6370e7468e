"""Small readers used by the API tests: audit rows straight from the database."""

from __future__ import annotations

from podium_shared.db.session import session_factory
from podium_shared.models.audit import AuditEvent
from sqlalchemy import select


def audit_rows(database_url: str, *, actor: str, action: str | None = None) -> list[AuditEvent]:
    with session_factory(database_url)() as session:
        stmt = select(AuditEvent).where(AuditEvent.actor == actor).order_by(AuditEvent.id)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        return list(session.scalars(stmt))


def scale(
    cluster: str, namespace: str = "default", name: str = "web", replicas: int = 2
) -> dict[str, object]:
    return {
        "kind": "scale",
        "cluster": cluster,
        "params": {"namespace": namespace, "name": name, "replicas": replicas},
    }
