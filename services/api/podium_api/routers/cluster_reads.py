"""Cluster reads, served from the watcher's snapshot in Redis (never a call to the cluster)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response
from podium_shared.cluster_state import service
from podium_shared.cluster_state.reads import MAX_LIMIT, ObjectPage
from podium_shared.cluster_state.service import ClusterSummary
from podium_shared.cluster_state.status import ClusterStatus

from podium_api.deps import RedisDep, SessionDep, ViewerDep

router = APIRouter(tags=["cluster state"])


Kind = Literal["pods", "services", "deployments", "jobs", "trainingjobs", "events", "nodes"]


@router.get("/clusters")
def list_clusters(session: SessionDep, redis: RedisDep, _principal: ViewerDep) -> list[ClusterSummary]:
    return service.clusters(session, redis)


@router.get("/clusters/{cluster}/status", response_model=ClusterStatus)
def cluster_status(cluster: str, session: SessionDep, redis: RedisDep, principal: ViewerDep) -> Response:
    # Sent as built (orjson), not re-validated through the model: a thousand rows made that the read's
    # largest cost (docs/performance.md). tests/api/test_cluster_reads.py checks it against the model.
    return Response(
        orjson.dumps(service.status(session, redis, principal, cluster)), media_type="application/json"
    )


@router.get("/clusters/{cluster}/{kind}", response_model_by_alias=True)
def list_objects(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    cluster: str,
    kind: Kind,
    session: SessionDep,
    redis: RedisDep,
    principal: ViewerDep,
    namespace: str | None = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector")] = None,
    field_selector: Annotated[str | None, Query(alias="fieldSelector")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    continue_token: Annotated[str | None, Query(alias="continue")] = None,
) -> ObjectPage:
    return service.objects(
        session, redis, principal, cluster, kind, namespace=namespace, label_selector=label_selector,
        field_selector=field_selector, limit=limit, continue_token=continue_token,
    )  # fmt: skip
