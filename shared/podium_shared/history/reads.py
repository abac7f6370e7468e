"""What the training-history routers call: pages of runs across experiments, one run in full, and metric
histories of several runs aligned by step. Everything goes through `client.Tracking` (bounded, typed
errors); filters through `filters` (validated fields only)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redis import Redis
from sqlalchemy.orm import Session

from podium_shared.clusters.service import get_cluster, list_clusters
from podium_shared.errors import Invalid, NotFound
from podium_shared.history.client import Tracking, tracking_for
from podium_shared.history.columns import tag_columns, visible_tags
from podium_shared.history.filters import RunFilter, RunStatus, order_by
from podium_shared.history.schemas import (
    CompareRun,
    Comparison,
    LinkedJob,
    MetricPoint,
    RunDetail,
    RunPage,
    RunSummary,
)
from podium_shared.models.operation import Operation
from podium_shared.models.telemetry import TelemetryWorkload
from podium_shared.realtime.keys import state_key
from podium_shared.realtime.resources import TRAINING_KINDS
from podium_shared.realtime.state import decode_hash
from podium_shared.settings import PodiumSettings

if TYPE_CHECKING:
    from mlflow.entities import Run

MAX_LIMIT = 1000
MAX_COMPARE_RUNS = 20
MAX_COMPARE_METRICS = 10
# The tags a training job's run carries (training.manifests.mlflow_tags writes them through MLFLOW_TAGS).
WORKLOAD_UID_TAG = "podium.workload_uid"  # written by whoever knows the uid (not by submit: see WorkloadRef)
OPERATION_TAG = "podium.operation_id"
CLUSTER_TAG, NAMESPACE_TAG, JOB_TAG = "podium.cluster", "podium.namespace", "podium.job"
SUBMIT_KIND = "submit_training_job"  # training's command kind (history may not import training)
# MLflow's ViewType values (mlflow.entities.ViewType), spelled out so this module does not import MLflow.
_VIEWS = {"active": 1, "deleted": 2, "all": 3}
_VIEW_ALL = 3
# Experiment names change rarely and every page needs them: a short per-server cache.
EXPERIMENT_CACHE_SECONDS = 10.0
_experiments: dict[str, tuple[float, dict[str, str]]] = {}
_experiments_lock = threading.Lock()


def tracking_uri(session: Session, settings: PodiumSettings, cluster: str | None) -> str | None:
    """The cluster's own tracking server if it has one, else the global MLFLOW_TRACKING_URI."""
    if cluster is not None:
        own = get_cluster(session, cluster).mlflow_tracking_uri
        if own:
            return own
    return settings.mlflow_tracking_uri


def tracking(session: Session, settings: PodiumSettings, cluster: str | None) -> Tracking:
    uri = tracking_uri(session, settings, cluster)
    # Only reads so far, and MLflow may take a while: give the connection back before calling it.
    session.close()
    return tracking_for(uri, settings.mlflow_request_timeout_seconds)


def experiments(t: Tracking, *, refresh: bool = False) -> dict[str, str]:
    """id -> name of every experiment (deleted ones too: their runs may still be listed)."""
    now = time.monotonic()
    with _experiments_lock:
        cached = _experiments.get(t.uri)
    if cached is not None and not refresh and now - cached[0] < EXPERIMENT_CACHE_SECONDS:
        return cached[1]
    names: dict[str, str] = {}
    token: str | None = None
    while True:
        page = t.call(
            "listing experiments",
            t.client.search_experiments,
            view_type=_VIEW_ALL,
            max_results=1000,
            page_token=token,
        )
        names.update({e.experiment_id: e.name for e in page})
        token = page.token
        if not token:
            break
    with _experiments_lock:
        _experiments[t.uri] = (now, names)
    return names


def _experiment_ids(t: Tracking, wanted: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    names = experiments(t)
    if not wanted:
        return sorted(names, key=_id_order), names
    by_name = {v: k for k, v in names.items()}
    ids = []
    for w in wanted:
        if w not in names and w not in by_name:
            names = experiments(t, refresh=True)  # created since the cache was filled?
            by_name = {v: k for k, v in names.items()}
        if w in names:
            ids.append(w)
        elif w in by_name:
            ids.append(by_name[w])
        else:
            raise NotFound(f"no MLflow experiment {w!r}", code="unknown_experiment")
    return ids, names


def tag_filters(query: Sequence[tuple[str, str]]) -> dict[str, str]:
    """`tag.<key>=<value>` query parameters as {key: value}; a key given twice is refused."""
    tags: dict[str, str] = {}
    for name, value in query:
        if name.startswith("tag."):
            key = name[len("tag.") :]
            if key in tags:
                raise Invalid(f"tag.{key} is given more than once", code="invalid_filter")
            tags[key] = value
    return tags


def _id_order(experiment_id: str) -> tuple[int, str]:
    return (int(experiment_id), "") if experiment_id.isdigit() else (0, experiment_id)


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def summary(run: Run, names: dict[str, str]) -> RunSummary:
    info = run.info
    end = info.end_time
    duration = None
    if info.start_time:
        until = end if end else (time.time() * 1000 if info.status == "RUNNING" else None)
        duration = round((until - info.start_time) / 1000, 3) if until else None
    return RunSummary(
        id=info.run_id,
        experiment_id=info.experiment_id,
        experiment=names.get(info.experiment_id),
        run_name=info.run_name,
        status=info.status,
        lifecycle_stage=info.lifecycle_stage,
        start_time=_ts(info.start_time),
        end_time=_ts(end),
        duration_seconds=duration,
        metrics=dict(run.data.metrics),
        tags=visible_tags(run.data.tags),
    )


def _fingerprint(ids: list[str], flt: RunFilter, order: list[str], view: str) -> str:
    raw = json.dumps([ids, flt.to_mlflow(), order, view], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _encode_cursor(token: str, ids: list[str], fp: str) -> str:
    raw = json.dumps({"t": token, "e": ids, "f": fp}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (
            isinstance(data, dict) and isinstance(data.get("t"), str) and isinstance(data.get("e"), list)
        ):
            raise ValueError("shape")
    except ValueError:
        raise Invalid("invalid cursor", code="invalid_cursor") from None
    return data


def list_runs(
    t: Tracking,
    *,
    experiment: Sequence[str] = (),
    status: RunStatus | None = None,
    tags: dict[str, str] | None = None,
    text: str | None = None,
    order: str | None = None,
    view: str = "active",
    limit: int = 50,
    cursor: str | None = None,
) -> RunPage:
    """One page of runs across the chosen experiments (all of them by default). The cursor carries
    MLflow's page token and the experiment ids of the first page, so a new experiment does not shift a
    listing in progress; a cursor from another query is refused."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    if view not in _VIEWS:
        raise Invalid(f"view must be one of {', '.join(_VIEWS)}")
    flt = RunFilter(status=status, tags=tuple(sorted((tags or {}).items())), text=text or None)
    filter_string = flt.to_mlflow()  # validates before anything is sent
    clauses = order_by(order)
    ids, names = _experiment_ids(t, experiment)
    token = None
    if cursor:
        data = _decode_cursor(cursor)
        ids = [str(i) for i in data["e"]]
        if data.get("f") != _fingerprint(ids, flt, clauses, view):
            raise Invalid(
                "the cursor belongs to another query; start again without it", code="invalid_cursor"
            )
        token = data["t"]
    if not ids:
        return RunPage(runs=[], tag_columns=[], next_cursor=None, tracking_uri=t.uri)
    page = t.call(
        "searching runs",
        t.client.search_runs,
        experiment_ids=ids,
        filter_string=filter_string,
        run_view_type=_VIEWS[view],
        max_results=limit,
        order_by=clauses,
        page_token=token,
    )
    runs = [summary(r, names) for r in page]
    nxt = _encode_cursor(page.token, ids, _fingerprint(ids, flt, clauses, view)) if page.token else None
    return RunPage(
        runs=runs, tag_columns=tag_columns(r.tags for r in runs), next_cursor=nxt, tracking_uri=t.uri
    )


def _history(t: Tracking, run_id: str, key: str) -> list[MetricPoint]:
    points = t.call(f"reading metric {key!r}", t.client.get_metric_history, run_id, key)
    ordered = sorted(points, key=lambda m: (m.step, m.timestamp))
    return [MetricPoint(step=m.step, value=m.value, timestamp=_ts(m.timestamp) or _ts(1)) for m in ordered]


def _get(t: Tracking, run_id: str) -> Run:
    run: Run = t.call("reading the run", t.client.get_run, run_id)
    return run


def get_run(
    t: Tracking,
    run_id: str,
    *,
    redis: Redis[bytes] | None,
    clusters: Sequence[str],
    session: Session | None = None,
) -> RunDetail:
    run = _get(t, run_id)
    names = experiments(t)
    if run.info.experiment_id not in names:
        names = experiments(t, refresh=True)
    base = summary(run, names)
    history = {key: _history(t, run_id, key) for key in sorted(run.data.metrics)}
    job = linked_job(redis, clusters, run.data.tags, base, session) if redis is not None else None
    return RunDetail(
        **base.model_dump(),
        params=dict(run.data.params),
        all_tags=dict(run.data.tags),
        metric_history=history,
        job=job,
    )


def _training_jobs(redis: Redis[bytes], cluster: str) -> list[tuple[str, dict[str, Any]]]:
    with redis.pipeline(transaction=True) as pipe:
        for kind in TRAINING_KINDS:
            pipe.hgetall(state_key(cluster, kind))
        results = pipe.execute()
    return [
        (kind, obj) for kind, raw in zip(TRAINING_KINDS, results, strict=True) for obj in decode_hash(raw)
    ]


def linked_job(
    redis: Redis[bytes],
    clusters: Sequence[str],
    tags: dict[str, str],
    run: RunSummary,
    session: Session | None = None,
) -> LinkedJob | None:
    """The training job a run came from: by a `podium.workload_uid` tag (the snapshot's job, else the
    workload whose logs Podium kept); by `podium.operation_id`, the submission that created the job (exact
    even when a name is reused, and still known after the job is deleted); else by name (the `podium.job`
    tag, the run name, then the experiment name) among the snapshot's training jobs."""
    tagged = tags.get(CLUSTER_TAG)
    where = [tagged] if tagged is not None and tagged in clusters else list(clusters)
    jobs = [(c, kind, obj) for c in where for kind, obj in _training_jobs(redis, c)]
    uid = tags.get(WORKLOAD_UID_TAG)
    if uid:
        for c, kind, obj in jobs:
            if (obj.get("metadata") or {}).get("uid") == uid:
                return _link(c, kind, obj, "workload_uid")
        kept = session.get(TelemetryWorkload, uid) if session is not None else None
        if kept is not None:
            return LinkedJob(
                cluster=kept.cluster, namespace=kept.namespace, name=kept.name, kind=kept.kind, uid=uid,
                matched_by="workload_uid",
            )  # fmt: skip
    submitted = _submitted(session, tags.get(OPERATION_TAG)) if session is not None else None
    if submitted is not None:
        return submitted
    namespace = tags.get(NAMESPACE_TAG)
    for name in (tags.get(JOB_TAG), run.run_name, run.experiment):
        if not name:
            continue
        for c, kind, obj in jobs:
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
                return _link(c, kind, obj, "name")
    return None


def _submitted(session: Session, operation_id: str | None) -> LinkedJob | None:
    """The job a `submit_training_job` operation created, from the operation's own record."""
    try:
        op_id = uuid.UUID(operation_id or "")
    except ValueError:
        return None
    op = session.get(Operation, op_id)
    if op is None or op.kind != SUBMIT_KIND:
        return None
    done, asked = op.result or {}, op.params or {}
    return LinkedJob(
        cluster=op.cluster,
        namespace=done.get("namespace") or asked.get("namespace"),
        name=str(done.get("name") or asked.get("name")),
        kind=str(done.get("kind") or asked.get("type") or ""),
        uid=done.get("uid"),
        matched_by="operation",
    )


def _link(cluster: str, kind: str, obj: dict[str, Any], how: str) -> LinkedJob:
    meta = obj.get("metadata") or {}
    return LinkedJob(
        cluster=cluster,
        namespace=meta.get("namespace"),
        name=str(meta.get("name")),
        kind=str(obj.get("kind") or kind),
        uid=meta.get("uid"),
        matched_by=how,
    )


def registered_clusters(session: Session) -> list[str]:
    return [c.name for c in list_clusters(session)]


def compare(t: Tracking, run_ids: Sequence[str], metrics: Sequence[str]) -> Comparison:
    """Each run's history of each metric, on one step axis (the union of their steps); a run that did not
    log a metric at a step has null there. The last value logged at a step wins."""
    run_ids = list(dict.fromkeys(r for r in run_ids if r))
    metrics = list(dict.fromkeys(m for m in metrics if m))
    if not run_ids or len(run_ids) > MAX_COMPARE_RUNS:
        raise Invalid(f"give between 1 and {MAX_COMPARE_RUNS} run ids")
    if not metrics or len(metrics) > MAX_COMPARE_METRICS:
        raise Invalid(f"give between 1 and {MAX_COMPARE_METRICS} metric names")
    names = experiments(t)
    runs = []
    by_step: dict[str, dict[str, dict[int, float]]] = {m: {} for m in metrics}
    for run_id in run_ids:
        run = _get(t, run_id)
        runs.append(
            CompareRun(id=run_id, run_name=run.info.run_name, experiment=names.get(run.info.experiment_id))
        )
        for m in metrics:
            by_step[m][run_id] = {p.step: p.value for p in _history(t, run_id, m)}
    steps = sorted({s for per_run in by_step.values() for values in per_run.values() for s in values})
    series = {m: {r: [by_step[m][r].get(s) for s in steps] for r in run_ids} for m in metrics}
    return Comparison(runs=runs, metrics=metrics, steps=steps, series=series)


@dataclass(frozen=True)
class WorkloadRef:
    """What finds a training job's runs. Submit cannot tag a run with the job's uid (the uid exists only
    once the job is created, and the pods' environment is fixed by then), so Podium's jobs are found by
    the `podium.operation_id` tag their submission wrote; other jobs by `podium.workload_uid`, or by the
    cluster, namespace and job-name tags."""

    uid: str
    cluster: str | None = None
    namespace: str | None = None
    name: str | None = None
    operation_id: str | None = None

    def filters(self) -> list[RunFilter]:
        out = [RunFilter(tags=((WORKLOAD_UID_TAG, self.uid),))]
        if self.operation_id:
            out.append(RunFilter(tags=((OPERATION_TAG, self.operation_id),)))
        elif self.cluster and self.namespace and self.name:
            names = ((CLUSTER_TAG, self.cluster), (JOB_TAG, self.name), (NAMESPACE_TAG, self.namespace))
            out.append(RunFilter(tags=names))
        return out


def workload_runs(t: Tracking, workload: WorkloadRef) -> list[Run]:
    # Fresh experiment ids: a job's run often lives in an experiment created moments ago.
    ids = sorted(experiments(t, refresh=True), key=_id_order)
    found: dict[str, Run] = {}
    for flt in workload.filters() if ids else []:
        page = t.call(
            "finding the workload's runs",
            t.client.search_runs,
            experiment_ids=ids,
            filter_string=flt.to_mlflow(),
            max_results=100,
            order_by=order_by(None),
        )
        for run in page:
            # A same-named job's run, tagged with that job's uid, is not ours.
            other = run.data.tags.get(WORKLOAD_UID_TAG)
            if not other or other == workload.uid:
                found.setdefault(run.info.run_id, run)
    return list(found.values())


def workload_metrics(t: Tracking, workload: WorkloadRef | str) -> dict[str, list[MetricPoint]]:
    """Every metric history of the runs a workload reported, merged by metric name and ordered by step:
    what the training-metrics API shows as `data_source=mlflow`."""
    ref = workload if isinstance(workload, WorkloadRef) else WorkloadRef(uid=workload)
    merged: dict[str, list[MetricPoint]] = {}
    for run in workload_runs(t, ref):
        for key in sorted(run.data.metrics):
            merged.setdefault(key, []).extend(_history(t, run.info.run_id, key))
    return {k: sorted(v, key=lambda p: (p.step, p.timestamp)) for k, v in merged.items()}
