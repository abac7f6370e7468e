from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.models.operation import Operation
from podium_shared.operations import service
from podium_shared.operations.schemas import CommandKindOut, CommandRequest, OperationOut
from sqlalchemy.orm import Session

from podium_api.deps import MetaDep, PrincipalDep, ViewerDep
from podium_api.groupcommit import Command, GroupCommit
from podium_api.settings import ApiSettings

# Printable ASCII without spaces, as the idempotency store checks it.
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"

router = APIRouter(tags=["commands"])


@router.post("/commands", status_code=status.HTTP_202_ACCEPTED, response_model=OperationOut)
async def submit_command(
    *,
    request: Request,
    body: CommandRequest,
    principal: PrincipalDep,
    meta: MetaDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)] = None,
) -> Response:
    """Validate, authorise, pre-check against the cluster snapshot and queue a command; the answer is
    the queued Operation (202), with any accept-time warnings in `result.accept_warnings`."""
    # Most requests never get here: podium_api.fastaccept answers the common case with this same `accept`
    # and hands this route everything else (a body to refuse, a chunked upload, another content type).
    content = await accept(request, body, principal, meta, idempotency_key)
    return Response(content, status_code=status.HTTP_202_ACCEPTED, media_type="application/json")


async def accept(
    request: Request,
    body: CommandRequest,
    principal: Principal,
    meta: RequestMeta,
    idempotency_key: str | None,
) -> bytes:
    """The queued Operation as the 202's JSON body, once its transaction has committed."""
    # Read from the app, not through dependencies: each dependency costs the event loop more than this.
    state = request.app.state
    settings: ApiSettings = state.settings
    # Set when the principal came from the cache, under this epoch; else the cluster is read.
    epoch: bytes | None = getattr(request.state, "auth_epoch", None)

    def prepare(session: Session) -> service.PreparedCommand:
        return service.prepare_command(
            session,
            principal,
            meta,
            kind=body.kind,
            cluster=body.cluster,
            params=body.params,
            idempotency_key=idempotency_key,
            max_bulk_items=settings.max_bulk_items,
            redis=state.redis,
            known_clusters=state.known_clusters,
            epoch=epoch,
        )

    # Written with the other commands that reach this process at the same moment, in one transaction
    # (podium_api.groupcommit); answered once it has committed.
    writer: GroupCommit = state.group_commit
    content: bytes = await writer.run(Command(prepare, service.write_command, _answer))
    return content


def _answer(op: Operation) -> bytes:
    # Serialised once by its model: returned as a model, FastAPI would dump it, validate the dump against
    # the response model again and encode that (~5 % of an accept's CPU; docs/performance-accept.md).
    return OperationOut.__pydantic_serializer__.to_json(OperationOut.model_validate(op))


@router.get("/commands/kinds")
def list_kinds(_principal: ViewerDep) -> list[CommandKindOut]:
    """Every command kind with its params' JSON Schema: what consoles and the CLI build forms from."""
    return service.describe_kinds()
