"""Kept logs of training jobs and downloads, and training metrics (Primus Lens's API, extended).
Query parameters are read as text and validated by the domain, so a bad one is a 400 naming it
(Lens's behaviour), never FastAPI's 422."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from podium_shared.telemetry import reads
from podium_shared.telemetry.schemas import AvailableMetrics, IngestBody, IngestResult, LogPage, MetricsData

from podium_api.deps import OperatorDep, SessionDep, ViewerDep

router = APIRouter(tags=["telemetry"])

JOB = "/clusters/{cluster}/trainingjobs/{namespace}/{name}/logs"
Text = Annotated[str | None, Query()]


@router.get(JOB)
def job_logs(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    cluster: str,
    namespace: str,
    name: str,
    session: SessionDep,
    principal: ViewerDep,
    pod: Text = None,
    container: Text = None,
    since: Text = None,
    tail: Text = None,
    limit: Text = None,
    cursor: Text = None,
) -> LogPage:
    """Kept lines in collection order (also after the job and its pods are gone)."""
    return reads.job_logs(
        session, principal, cluster, namespace, name, pod, container, since, tail, limit, cursor
    )


@router.get(JOB + "/download")
def job_logs_download(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    request: Request,
    cluster: str,
    namespace: str,
    name: str,
    principal: ViewerDep,
    pod: Text = None,
    container: Text = None,
    since: Text = None,
) -> StreamingResponse:
    body = reads.job_logs_text(
        request.app.state.session_factory, principal, cluster, namespace, name, pod, container, since
    )
    filename = f"{namespace}_{name}.log"
    return StreamingResponse(
        body, media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip


@router.get("/workloads/{uid}/metrics/available")
def metrics_available(uid: str, session: SessionDep, principal: ViewerDep) -> AvailableMetrics:
    return reads.available(session, principal, uid)


@router.get("/workloads/{uid}/metrics/data", response_model=MetricsData)
def metrics_data(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    uid: str,
    session: SessionDep,
    principal: ViewerDep,
    data_source: Text = None,
    metrics: Text = None,
    start: Text = None,
    end: Text = None,
    limit: Text = None,
    cursor: Text = None,
    bucket: Text = None,
    agg: Text = None,
    format: Text = None,
) -> Response:
    """Lens's body (`MetricsData`), written directly: up to 100,000 points need no model each."""
    query = reads.DataQuery(data_source, metrics, start, end, limit, cursor, bucket, agg, format)
    result = reads.data(session, principal, uid, query)
    if query.csv:
        return Response(reads.data_csv(result), media_type="text/csv; charset=utf-8")
    return JSONResponse(result)


@router.post("/workloads/{uid}/metrics")
def metrics_ingest(uid: str, body: IngestBody, session: SessionDep, principal: OperatorDep) -> IngestResult:
    """Points from other sources (wandb, tensorflow, mlflow, or logs parsed elsewhere); idempotent."""
    return reads.ingest(session, principal, uid, body)
