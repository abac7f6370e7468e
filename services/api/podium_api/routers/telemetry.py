"""Kept logs of training jobs and downloads, and training metrics (Primus Lens's API, extended).
Query parameters are read as text and validated by the domain, so a bad one is a 400 naming it
(Lens's behaviour), never FastAPI's 422."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from podium_shared.telemetry import reads
from podium_shared.telemetry.schemas import (
    AvailableMetrics,
    IngestBody,
    IngestResult,
    LogFilter,
    LogPage,
    LogQuery,
    MetricsData,
    MetricsQuery,
)

from podium_api.deps import OperatorDep, SessionDep, SettingsDep, ViewerDep

router = APIRouter(tags=["telemetry"])

JOB = "/clusters/{cluster}/trainingjobs/{namespace}/{name}/logs"


@router.get(JOB)
def job_logs(
    *,
    cluster: str,
    namespace: str,
    name: str,
    q: Annotated[LogQuery, Query()],
    session: SessionDep,
    principal: ViewerDep,
) -> LogPage:
    """Kept lines in collection order (also after the job and its pods are gone)."""
    return reads.job_logs(session, principal, cluster, namespace=namespace, name=name, q=q)


@router.get(JOB + "/download")
def job_logs_download(
    *,
    request: Request,
    cluster: str,
    namespace: str,
    name: str,
    q: Annotated[LogFilter, Query()],
    principal: ViewerDep,
) -> StreamingResponse:
    """The kept log as plain text."""
    sessions = request.app.state.session_factory
    body = reads.job_logs_text(sessions, principal, cluster, namespace=namespace, name=name, q=q)
    return StreamingResponse(
        body,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{namespace}_{name}.log"'},
    )


@router.get("/workloads/{uid}/metrics/available")
def metrics_available(
    uid: str, session: SessionDep, settings: SettingsDep, principal: ViewerDep
) -> AvailableMetrics:
    """The metrics kept for a workload, by name, with their sources (a training job's MLflow runs too)."""
    return reads.available(session, principal, uid, settings)


@router.get("/workloads/{uid}/metrics/data", response_model=MetricsData)
def metrics_data(
    uid: str,
    q: Annotated[MetricsQuery, Query()],
    session: SessionDep,
    settings: SettingsDep,
    principal: ViewerDep,
) -> Response:
    """Lens's body (`MetricsData`), written directly: up to 100,000 points need no model each."""
    query = reads.DataQuery(q)
    result = reads.data(session, principal, uid, query, settings)
    if query.csv:
        return Response(reads.data_csv(result), media_type="text/csv; charset=utf-8")
    return JSONResponse(result)


@router.post("/workloads/{uid}/metrics")
def metrics_ingest(uid: str, body: IngestBody, session: SessionDep, principal: OperatorDep) -> IngestResult:
    """Points from other sources (wandb, tensorflow, mlflow, or logs parsed elsewhere); idempotent."""
    return reads.ingest(session, principal, uid, body)
