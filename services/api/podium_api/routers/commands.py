from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from podium_shared.operations import service
from podium_shared.operations.schemas import CommandKindOut, CommandRequest, OperationOut

from podium_api.deps import MetaDep, PrincipalDep, RedisDep, SessionDep, SettingsDep, ViewerDep

# Printable ASCII without spaces, as the idempotency store checks it.
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"

router = APIRouter(tags=["commands"])


@router.post("/commands", status_code=status.HTTP_202_ACCEPTED, response_model=OperationOut)
def submit_command(
    *,
    body: CommandRequest,
    session: SessionDep,
    principal: PrincipalDep,
    meta: MetaDep,
    settings: SettingsDep,
    redis: RedisDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)] = None,
) -> Response:
    """Validate, authorise, pre-check against the cluster snapshot and queue a command; the answer is
    the queued Operation (202), with any accept-time warnings in `result.accept_warnings`."""
    op = service.accept_command(
        session,
        principal,
        meta,
        kind=body.kind,
        cluster=body.cluster,
        params=body.params,
        idempotency_key=idempotency_key,
        max_bulk_items=settings.max_bulk_items,
        redis=redis,
    )
    # Serialised once by its model: returned as a model, FastAPI would dump it, validate the dump against
    # the response model again and encode that (~5 % of an accept's CPU; docs/performance.md).
    return Response(
        OperationOut.model_validate(op).model_dump_json(),
        status_code=status.HTTP_202_ACCEPTED,
        media_type="application/json",
    )


@router.get("/commands/kinds")
def list_kinds(_principal: ViewerDep) -> list[CommandKindOut]:
    """Every command kind with its params' JSON Schema: what consoles and the CLI build forms from."""
    return service.describe_kinds()
