from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from podium_shared.models.operation import OperationStatus
from podium_shared.operations import service
from podium_shared.operations.schemas import OperationFilter, OperationOut, OperationPage

from podium_api.deps import MetaDep, PrincipalDep, SessionDep

# Printable ASCII without spaces, as the idempotency store checks it.
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"

router = APIRouter(tags=["operations"])


@router.get("/operations")
def list_operations(
    *,
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[OperationStatus | None, Query(alias="status")] = None,
    kind: str | None = None,
    cluster: str | None = None,
    requested_by: str | None = None,
    parent_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> OperationPage:
    f = OperationFilter(
        status=status_, kind=kind, cluster=cluster, requested_by=requested_by, parent_id=parent_id
    )
    items, next_cursor = service.list_operations(session, principal, f, limit=limit, cursor=cursor)
    return OperationPage(items=[OperationOut.model_validate(op) for op in items], next_cursor=next_cursor)


@router.get("/operations/{op_id}")
def get_operation(op_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> OperationOut:
    return OperationOut.model_validate(service.get(session, principal, op_id))


@router.post("/operations/{op_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_operation(
    op_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    meta: MetaDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)] = None,
) -> OperationOut:
    return OperationOut.model_validate(
        service.cancel(session, principal, meta, op_id, idempotency_key=idempotency_key)
    )
