from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from podium_shared.audit import export, service
from podium_shared.audit.schemas import AuditEventOut, AuditPage, VerifyOut
from podium_shared.auth.principal import Principal
from podium_shared.errors import Invalid
from sqlalchemy.orm import Session, sessionmaker

from podium_api.deps import AdminDep, MetaDep, PrincipalDep, SessionDep, get_factory

router = APIRouter(tags=["audit"])


def audit_filter(
    *,
    principal: PrincipalDep,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="exact action, or a prefix ending in '.'")] = None,
    resource: Annotated[str | None, Query(description="resource name, or kind/name")] = None,
    outcome: str | None = None,
    cluster: str | None = None,
    operation_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> service.AuditFilter:
    return service.AuditFilter(
        actor=actor,
        action=action,
        resource=resource,
        outcome=outcome,
        cluster=cluster,
        operation_id=operation_id,
        since=since,
        until=until,
        scope_namespaces=_scope(principal),
        scope_actor=principal.username,
    )


def _scope(principal: Principal) -> tuple[str, ...] | None:
    return tuple(principal.namespaces) if principal.namespaces is not None else None


FilterDep = Annotated[service.AuditFilter, Depends(audit_filter)]


@router.get("/audit")
def list_audit(
    session: SessionDep,
    f: FilterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page", pattern=r"^[0-9]{1,18}$")
    ] = None,
) -> AuditPage:
    if cursor is not None and not cursor.isdigit():
        raise Invalid("cursor is not one this API handed out", code="invalid_cursor")
    rows, before = service.list_events(session, f, limit=limit, before_id=int(cursor) if cursor else None)
    return AuditPage(
        items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=str(before) if before else None
    )


_EXPORT_CONTENT = {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
}


@router.get(
    "/audit/export", responses={200: {"description": "The events, streamed", "content": _EXPORT_CONTENT}}
)
def export_audit(
    *,
    f: FilterDep,
    session: SessionDep,
    principal: PrincipalDep,
    meta: MetaDep,
    factory: Annotated[sessionmaker[Session], Depends(get_factory)],
    format: Literal["csv", "jsonl"] = "jsonl",
) -> StreamingResponse:
    body = export.start_export(session, principal, meta, factory=factory, f=f, fmt=format)
    return StreamingResponse(
        body,
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="podium-audit.{format}"'},
    )


@router.get("/audit/verify")
def verify_audit(session: SessionDep, _admin: AdminDep) -> VerifyOut:
    return VerifyOut(**service.verify(session).to_dict())
