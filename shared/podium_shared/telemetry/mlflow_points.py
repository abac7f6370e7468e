"""`data_source=mlflow`: a training job's MLflow run histories among its metric points.

The training-metrics reads copy the linked runs' histories into the workload's points (`metric_points`,
source `mlflow`) before they query, so paging, cursors, time buckets, CSV and `available` treat them as
any other source, and they stay readable after the run is deleted from MLflow. The copy is idempotent
(a point is stored once) and made on read: MLflow has no change feed, and a job nobody looks at costs
nothing. Which runs belong to the job is history's business (`history.reads.WorkloadRef`): for a job
Podium submitted, the runs tagged with the id of the operation that created it."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium_shared.errors import NotFound, PodiumError
from podium_shared.history.client import tracking_for
from podium_shared.history.reads import SUBMIT_KIND, WorkloadRef, tracking_uri, workload_metrics
from podium_shared.models.operation import Operation
from podium_shared.models.telemetry import TelemetryWorkload
from podium_shared.settings import PodiumSettings
from podium_shared.telemetry import store

log = logging.getLogger(__name__)
MAX_ITERATION = 2**31 - 1
SOURCE = "mlflow"


@dataclass(frozen=True)
class _Target:
    ref: WorkloadRef
    uri: str


def _operation_id(session: Session, w: TelemetryWorkload) -> str | None:
    """The submission that created the workload (its result carries the uid the job got)."""
    op_id = session.execute(
        select(Operation.id)
        .where(
            Operation.kind == SUBMIT_KIND,
            Operation.cluster == w.cluster,
            Operation.result["uid"].astext == w.uid,
        )
        .limit(1)
    ).scalar_one_or_none()
    return str(op_id) if op_id is not None else None


def _target(session: Session, settings: PodiumSettings, w: TelemetryWorkload) -> _Target | None:
    if w.kind == "Job":
        return None  # a model download: it reports no MLflow run
    try:
        uri = tracking_uri(session, settings, w.cluster)
    except NotFound:  # the cluster was deregistered since; its kept metrics are still served
        uri = settings.mlflow_tracking_uri
    if not uri:
        return None  # no tracking server: nothing to copy, and not an error
    ref = WorkloadRef(
        uid=w.uid,
        cluster=w.cluster,
        namespace=w.namespace,
        name=w.name,
        operation_id=_operation_id(session, w),
    )
    return _Target(ref, uri)


def refresh(session: Session, settings: PodiumSettings, w: TelemetryWorkload, *, strict: bool) -> int:
    """Copy the workload's MLflow points not stored yet; returns how many were new. MLflow down or slow:
    `strict` (the caller asked for `mlflow` points) raises its 503, else what was copied before is served."""
    target = _target(session, settings, w)
    if target is None:
        return 0
    # Nothing is written yet: give the connection back rather than hold a transaction open across
    # MLflow's calls (bounded, but seconds when it is slow); the insert below opens a new one.
    session.close()
    try:
        histories = workload_metrics(
            tracking_for(target.uri, settings.mlflow_request_timeout_seconds), target.ref
        )
    except PodiumError as exc:
        if strict:
            raise
        log.warning("metrics of workload %s without MLflow's: %s", target.ref.uid, exc.message)
        return 0
    points = [
        store.Point(name, p.value, round(p.timestamp.timestamp() * 1000), p.step, "", SOURCE)
        for name, history in histories.items()
        for p in history
        # Postgres and JSON take what the other sources give: finite values, steps that fit an integer.
        if math.isfinite(p.value) and 0 <= p.step <= MAX_ITERATION and len(name) <= 255
    ]
    return store.insert_points(session, target.ref.uid, points)
