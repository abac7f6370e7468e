"""Training history from MLflow: runs across experiments, one run in full, metric histories compared.
Reads only; deleting and restoring a run are the command kinds delete_training_run / restore_training_run
on `POST /api/v1/commands`. docs/history.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from podium_shared.history import reads
from podium_shared.history.filters import RunStatus
from podium_shared.history.schemas import RUN_ID, Comparison, RunDetail, RunPage
from pydantic import BaseModel

from podium_api.deps import RedisDep, SessionDep, SettingsDep, ViewerDep

router = APIRouter(prefix="/training", tags=["training history"])


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


MLFLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "`mlflow_unavailable`: the tracking server is down, failing or did not answer within "
        "PODIUM_MLFLOW_REQUEST_TIMEOUT_SECONDS; `mlflow_not_configured`: no tracking URI is set.",
    },
}
Cluster = Annotated[str | None, Query(description="use this cluster's tracking server (default: global)")]


@router.get("/runs", responses=MLFLOW_ERRORS)
def list_runs(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: ViewerDep,
    cluster: Cluster = None,
    experiment: Annotated[list[str] | None, Query(description="experiment name or id; repeatable")] = None,
    status: RunStatus | None = None,
    text: Annotated[str | None, Query(max_length=200, description="run-name substring")] = None,
    order_by: Annotated[
        str | None, Query(max_length=300, description="e.g. -start_time, metrics.loss")
    ] = None,
    view: Annotated[str, Query(pattern="^(active|deleted|all)$")] = "active",
    limit: Annotated[int, Query(ge=1, le=reads.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> RunPage:
    """Runs across experiments, paginated on the MLflow server. Filter on tags with `tag.<key>=<value>`
    (repeatable for several keys)."""
    tags = reads.tag_filters(request.query_params.multi_items())
    t = reads.tracking(session, settings, cluster)
    return reads.list_runs(
        t, experiment=experiment or [], status=status, tags=tags, text=text, order=order_by, view=view,
        limit=limit, cursor=cursor,
    )  # fmt: skip


@router.get("/runs/{run_id}", responses=MLFLOW_ERRORS)
def get_run(
    run_id: Annotated[str, Path(pattern=RUN_ID)],
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
    _principal: ViewerDep,
    cluster: Cluster = None,
) -> RunDetail:
    """Params, tags, metrics with their histories, and the Kubernetes job the run came from when known."""
    clusters = reads.registered_clusters(session)
    t = reads.tracking(session, settings, cluster)
    return reads.get_run(t, run_id, redis=redis, clusters=clusters, session=session)


@router.get("/compare", responses=MLFLOW_ERRORS)
def compare(
    session: SessionDep,
    settings: SettingsDep,
    _principal: ViewerDep,
    runs: Annotated[str, Query(description="comma-separated run ids", max_length=2000)],
    metrics: Annotated[str, Query(description="comma-separated metric names", max_length=1000)] = "loss",
    cluster: Cluster = None,
) -> Comparison:
    """The runs' histories of each metric on one step axis, for one chart."""
    t = reads.tracking(session, settings, cluster)
    return reads.compare(t, runs.split(","), metrics.split(","))
