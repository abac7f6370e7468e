"""Training reads (a job's page, the model downloads), answered from the watcher's snapshot in Redis; the
cluster is never called per request. A download's progress comes from its operation in Postgres, which
the worker updates from the download's own progress lines."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium_shared.auth.principal import Principal
from podium_shared.clusters.service import get_cluster
from podium_shared.errors import Forbidden, NotFound, Unavailable
from podium_shared.models.operation import Operation
from podium_shared.realtime.resources import TRAINING_KINDS
from podium_shared.realtime.state import read_snapshot, snapshot_age
from podium_shared.telemetry import reads as telemetry
from podium_shared.telemetry.schemas import MetricDataPoint
from podium_shared.training import labels as L
from podium_shared.training.describe import describe_job
from podium_shared.training.downloads import job_state
from podium_shared.training.manifests import download_name
from podium_shared.training.schemas import DownloadModelParams, DownloadOut, TrainingJobPage

# How many recent download operations are joined to the Jobs for their progress.
RECENT_DOWNLOAD_OPERATIONS = 500


def latest_metrics(session: Session, workload_uid: str) -> dict[str, MetricDataPoint] | None:
    """The job's latest training metrics (loss, learning rate, throughput …) as kept by the log
    collector and ingest (telemetry), whether or not its pods still exist; None before the first point."""
    return telemetry.latest(session, workload_uid) or None


def _authorise(session: Session, principal: Principal, cluster: str, namespace: str | None) -> None:
    get_cluster(session, cluster)
    if namespace is not None and not principal.can_access_namespace(namespace):
        raise Forbidden(f"you have no access to namespace {namespace!r}")


def _snapshot(redis: Any, cluster: str, kinds: list[str]) -> tuple[float, dict[str, list[dict[str, Any]]]]:
    age = snapshot_age(redis, cluster)
    if age is None:
        raise Unavailable(f"no watcher has streamed cluster {cluster!r} yet; try again shortly")
    _window, objects = read_snapshot(redis, cluster, kinds)
    return age, objects


def _in(namespace: str | None, obj: dict[str, Any]) -> bool:
    return namespace is None or (obj.get("metadata") or {}).get("namespace") == namespace


def training_job(
    session: Session, redis: Any, principal: Principal, cluster: str, *, namespace: str, name: str
) -> TrainingJobPage:
    _authorise(session, principal, cluster, namespace)
    age, objects = _snapshot(redis, cluster, [*TRAINING_KINDS, "pods", "events"])
    job = next(
        (
            j
            for kind in TRAINING_KINDS
            for j in objects[kind]
            if _in(namespace, j) and (j.get("metadata") or {}).get("name") == name
        ),
        None,
    )
    if job is None:
        raise NotFound(f'training job "{name}" not found in namespace "{namespace}"')
    pods = [p for p in objects["pods"] if _in(namespace, p)]
    events = [e for e in objects["events"] if _in(namespace, e)]
    out = describe_job(job, pods, events)
    out["cluster"] = cluster
    out["latest_metrics"] = latest_metrics(session, out["uid"])
    out["snapshot_age_seconds"] = round(age, 3)
    return TrainingJobPage.model_validate(out)


def _download_operations(session: Session, cluster: str) -> dict[tuple[str, str], Operation]:
    """(namespace, job name) → the latest download_model operation that targets it."""
    rows = session.scalars(
        select(Operation)
        .where(Operation.kind == "download_model", Operation.cluster == cluster)
        .order_by(Operation.created_at.desc())
        .limit(RECENT_DOWNLOAD_OPERATIONS)
    )
    out: dict[tuple[str, str], Operation] = {}
    for op in rows:
        try:
            p = DownloadModelParams.model_validate(op.params)
        except ValidationError:
            continue
        out.setdefault((p.namespace, p.name or download_name(p.model, p.revision)), op)
    return out


def downloads(
    session: Session, redis: Any, principal: Principal, cluster: str, namespace: str | None = None
) -> list[DownloadOut]:
    _authorise(session, principal, cluster, namespace)
    _age, objects = _snapshot(redis, cluster, ["jobs"])
    ops = _download_operations(session, cluster)
    out = []
    for job in objects["jobs"]:
        meta = job.get("metadata") or {}
        ns = str(meta.get("namespace"))
        labels = meta.get("labels") or {}
        if labels.get(L.APP_COMPONENT) != L.DOWNLOAD or not L.is_managed(job):
            continue
        if not _in(namespace, job) or not principal.can_access_namespace(ns):
            continue
        ann = meta.get("annotations") or {}
        state, message = job_state(job)
        op = ops.get((ns, str(meta.get("name"))))
        progress = dict(op.progress or {}) if op is not None else {}
        percent = 100 if state == "Succeeded" else progress.get("percent")
        out.append(
            DownloadOut.model_validate(
                {
                    "name": meta.get("name"),
                    "namespace": ns,
                    "model": ann.get(L.MODEL_ID),
                    "revision": ann.get(L.REVISION),
                    "pvc": ann.get(L.PVC),
                    "local_dir": ann.get(L.LOCAL_DIR),
                    "status": state,
                    "message": message,
                    "percent": percent,
                    "files_done": progress.get("files_done"),
                    "files_total": progress.get("files_total"),
                    "start": (job.get("status") or {}).get("startTime"),
                    "end": (job.get("status") or {}).get("completionTime"),
                    "created": meta.get("creationTimestamp"),
                    "operation_id": str(op.id) if op is not None else None,
                }
            )
        )
    return sorted(out, key=lambda d: (d.namespace, d.name))
