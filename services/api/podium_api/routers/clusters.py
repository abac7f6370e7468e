"""Registry writes (admin). `GET /api/v1/clusters` with live status is in `cluster_reads.py`."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from podium_shared.clusters import service
from podium_shared.clusters.schemas import ClusterCreate, ClusterOut

from podium_api.deps import AdminDep, MetaDep, SessionDep

router = APIRouter(tags=["clusters"])


@router.post("/clusters", status_code=status.HTTP_201_CREATED)
def register_cluster(
    body: ClusterCreate, session: SessionDep, principal: AdminDep, meta: MetaDep
) -> ClusterOut:
    return ClusterOut.model_validate(service.create(session, principal, meta, body))


@router.delete("/clusters/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_cluster(name: str, session: SessionDep, principal: AdminDep, meta: MetaDep) -> Response:
    service.delete(session, principal, meta, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
