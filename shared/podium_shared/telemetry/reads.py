"""What the telemetry routers call: kept logs of a training job, and Lens's metric reads (plus paging,
server-side time buckets and CSV), and metric ingest. Visibility: a user reads the logs and metrics of
workloads in namespaces they can see; ingest needs the operator role (checked by the router)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, sessionmaker

from podium_shared.auth.principal import Principal
from podium_shared.errors import Forbidden, NotFound, PodiumError
from podium_shared.models.telemetry import METRIC_SOURCES, LogLine, LogStream, MetricPoint, TelemetryWorkload
from podium_shared.settings import PodiumSettings
from podium_shared.telemetry import mlflow_points, store
from podium_shared.telemetry.schemas import (
    AvailableMetrics,
    IngestBody,
    IngestResult,
    LogFilter,
    LogLineOut,
    LogPage,
    LogQuery,
    LogStreamOut,
    MetricDataPoint,
    MetricInfo,
    MetricsQuery,
)

MAX_LOG_LIMIT = 10_000
DEFAULT_LOG_LIMIT = 1_000
MAX_METRIC_LIMIT = 100_000  # also the default: a Lens client asking for everything gets up to this much
AGGREGATES = ("avg", "min", "max", "last")
DOWNLOAD_PAGE = 5_000
# A job page's latest metrics come from this many newest points of the workload: a bounded walk of the
# (workload_uid, ts, id) index however long the run (the Trainer reports every metric each logging step).
LATEST_WINDOW = 1_000


class BadParameter(PodiumError):
    """A query parameter the API cannot use: 400 (Lens's status for it), naming the parameter."""

    status = 400
    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}", details={"parameter": parameter})


# --- parameters ----------------------------------------------------------------------------------


def _int(name: str, raw: str | None, *, low: int | None = None, high: int | None = None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, f"must be an integer, got {raw[:40]!r}") from None
    if low is not None and value < low:
        raise BadParameter(name, f"must be at least {low}")
    if high is not None and value > high:
        raise BadParameter(name, f"must be at most {high}")
    return value


def _since(raw: str | None) -> datetime | None:
    """RFC 3339 time, or a relative duration like `90s`, `15m`, `2h`, `1d` (as `kubectl logs --since`)."""
    if not raw:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
    if raw[-1] in units and raw[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(raw[:-1]) * units[raw[-1]])
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter("since", "must be an RFC 3339 time or a duration like 15m") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _source(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in METRIC_SOURCES:
        raise BadParameter("data_source", f"unknown source {raw[:40]!r}; one of {', '.join(METRIC_SOURCES)}")
    return raw


# --- logs ----------------------------------------------------------------------------------------


def _job_uids(session: Session, principal: Principal, cluster: str, namespace: str, name: str) -> list[str]:
    if not principal.can_access_namespace(namespace):
        raise Forbidden(f"you have no access to namespace {namespace!r}")
    uids = list(
        session.execute(
            select(TelemetryWorkload.uid).where(
                TelemetryWorkload.cluster == cluster,
                TelemetryWorkload.namespace == namespace,
                TelemetryWorkload.name == name,
            )
        ).scalars()
    )
    if not uids:
        raise NotFound(f"no kept logs for training job {namespace}/{name} in cluster {cluster}")
    return uids


def _line_filter(
    uids: list[str], pod: str | None, container: str | None, since: datetime | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [LogLine.workload_uid.in_(uids)]
    if pod:
        where.append(LogLine.pod == pod)
    if container:
        where.append(LogLine.container == container)
    if since is not None:
        where.append(LogLine.ts >= since)
    return where


def _line_out(row: LogLine) -> LogLineOut:
    return LogLineOut(
        id=str(row.id), pod=row.pod, container=row.container, timestamp=row.ts, seq=row.seq,
        line=row.line, workload_uid=row.workload_uid,
    )  # fmt: skip


def job_logs(
    session: Session, principal: Principal, cluster: str, *, namespace: str, name: str, q: LogQuery
) -> LogPage:
    pod, container = q.pod, q.container
    n_tail = _int("tail", q.tail, low=0, high=MAX_LOG_LIMIT)
    n_limit = _int("limit", q.limit, low=1, high=MAX_LOG_LIMIT) or DEFAULT_LOG_LIMIT
    after = _int("cursor", q.cursor, low=0)
    if n_tail is not None and after is not None:
        raise BadParameter("tail", "cannot be combined with cursor")
    uids = _job_uids(session, principal, cluster, namespace, name)
    where = _line_filter(uids, pod, container, _since(q.since))
    if n_tail is not None:
        newest = select(LogLine).where(*where).order_by(LogLine.id.desc()).limit(n_tail)
        rows = list(reversed(session.execute(newest).scalars().all()))
        full = False
    else:
        if after is not None:
            where.append(LogLine.id > after)
        rows = list(
            session.execute(select(LogLine).where(*where).order_by(LogLine.id).limit(n_limit)).scalars()
        )
        full = len(rows) == n_limit
    streams = session.execute(
        select(LogStream).where(LogStream.workload_uid.in_(uids)).order_by(LogStream.pod, LogStream.container)
    ).scalars()
    return LogPage(
        cluster=cluster, namespace=namespace, name=name,
        lines=[_line_out(r) for r in rows],
        next_cursor=str(rows[-1].id) if full and rows else None,
        last_id=str(rows[-1].id) if rows else None,
        streams=[
            LogStreamOut(
                pod=s.pod, container=s.container, workload_uid=s.workload_uid, lines=s.last_seq,
                dropped=s.dropped, truncated=s.truncated, last_timestamp=s.last_ts,
            )
            for s in streams
            if (not pod or s.pod == pod) and (not container or s.container == container)
        ],
    )  # fmt: skip


def job_logs_text(
    sessions: sessionmaker[Session],
    principal: Principal,
    cluster: str,
    *,
    namespace: str,
    name: str,
    q: LogFilter,
) -> Iterator[bytes]:
    """The kept log as plain text, page by page (never the whole log in memory). Checks happen before
    the first byte, so an error is still a proper 4xx; lines of several containers are prefixed."""
    pod, container, start = q.pod, q.container, _since(q.since)
    with sessions() as session:
        uids = _job_uids(session, principal, cluster, namespace, name)
        where = _line_filter(uids, pod, container, start)
        dropped = session.execute(
            select(func.coalesce(func.sum(LogStream.dropped), 0)).where(LogStream.workload_uid.in_(uids))
        ).scalar_one()

    def body() -> Iterator[bytes]:
        after = 0
        prefix = not (pod and container)
        with sessions() as session:
            while True:
                rows = session.execute(
                    select(LogLine.id, LogLine.pod, LogLine.container, LogLine.line)
                    .where(*where, LogLine.id > after)
                    .order_by(LogLine.id)
                    .limit(DOWNLOAD_PAGE)
                ).all()
                if not rows:
                    break
                out = io.StringIO()
                for r in rows:
                    out.write(f"[{r.pod}/{r.container}] {r.line}\n" if prefix else f"{r.line}\n")
                yield out.getvalue().encode()
                after = rows[-1].id
        if dropped:
            yield f"[podium] {dropped} lines were dropped by the collector (storage too slow)\n".encode()

    return body()


# --- metrics (Lens) --------------------------------------------------------------------------------


def _workload(session: Session, principal: Principal, uid: str) -> TelemetryWorkload:
    w = session.get(TelemetryWorkload, uid)
    if w is None:
        raise BadParameter("workload_uid", f"unknown workload {uid[:64]!r}")
    if not principal.can_access_namespace(w.namespace):
        raise Forbidden(f"you have no access to namespace {w.namespace!r}")
    return w


def available(
    session: Session, principal: Principal, uid: str, settings: PodiumSettings | None = None
) -> AvailableMetrics:
    """With `settings`, the job's MLflow runs are copied in first (`mlflow_points`)."""
    w = _workload(session, principal, uid)
    if settings is not None:
        mlflow_points.refresh(session, settings, w, strict=False)
    rows = session.execute(
        select(MetricPoint.metric_name, MetricPoint.data_source, func.count())
        .where(MetricPoint.workload_uid == uid)
        .group_by(MetricPoint.metric_name, MetricPoint.data_source)
        .order_by(MetricPoint.metric_name, MetricPoint.data_source)
    ).all()
    merged: dict[str, MetricInfo] = {}
    for name, source, count in rows:
        info = merged.setdefault(name, MetricInfo(name=name, data_source=[], count=0))
        info.data_source.append(source)
        info.count += int(count)
    return AvailableMetrics(workload_uid=uid, metrics=list(merged.values()), total_count=len(merged))


class DataQuery:
    """The validated parameters of `metrics/data`."""

    def __init__(self, q: MetricsQuery) -> None:
        data_source, metrics, start, end, agg, fmt = q.data_source, q.metrics, q.start, q.end, q.agg, q.format
        self.source = _source(data_source)
        self.metrics = [m.strip() for m in (metrics or "").split(",") if m.strip()]
        if len(self.metrics) > 100:
            raise BadParameter("metrics", "at most 100 names")
        self.start = _int("start", start)
        self.end = _int("end", end)
        if self.start is not None and self.end is not None and self.start > self.end:
            raise BadParameter("start", "is after end")
        self.limit = _int("limit", q.limit, low=1, high=MAX_METRIC_LIMIT) or MAX_METRIC_LIMIT
        self.cursor = _cursor(q.cursor)
        self.bucket = _int("bucket", q.bucket, low=1)
        if agg is not None and agg not in AGGREGATES:
            raise BadParameter("agg", f"one of {', '.join(AGGREGATES)}")
        if agg is not None and self.bucket is None:
            raise BadParameter("agg", "needs bucket")
        self.agg = agg or "avg"
        if self.bucket is not None and self.cursor is not None:
            raise BadParameter("cursor", "pages raw points; with bucket, narrow start/end instead")
        if fmt not in (None, "", "json", "csv"):
            raise BadParameter("format", "json or csv")
        self.csv = fmt == "csv"
        self.data_source = data_source or ""


def latest(session: Session, uid: str) -> dict[str, MetricDataPoint]:
    """Each metric's newest point (by time, then arrival) among the workload's newest points."""
    newest = (
        select(MetricPoint.metric_name, MetricPoint.value, MetricPoint.ts, MetricPoint.iteration,
               MetricPoint.data_source)
        .where(MetricPoint.workload_uid == uid)
        .order_by(MetricPoint.ts.desc(), MetricPoint.id.desc())
        .limit(LATEST_WINDOW)
    )  # fmt: skip
    out: dict[str, MetricDataPoint] = {}
    for name, value, ts, iteration, source in session.execute(newest):
        if name not in out:
            out[name] = MetricDataPoint(
                metric_name=name, value=value, timestamp=ts, iteration=iteration, data_source=source
            )
    return dict(sorted(out.items()))


def _cursor(raw: str | None) -> tuple[int, int] | None:
    if not raw:
        return None
    ts, _, point_id = raw.partition(".")
    if not (ts.isdigit() and point_id.isdigit()):
        raise BadParameter("cursor", "not a cursor this API returned")
    return int(ts), int(point_id)


def _where(uid: str, q: DataQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [MetricPoint.workload_uid == uid]
    if q.source:
        where.append(MetricPoint.data_source == q.source)
    if q.metrics:
        where.append(MetricPoint.metric_name.in_(q.metrics))
    if q.start is not None:
        where.append(MetricPoint.ts >= q.start)
    if q.end is not None:
        where.append(MetricPoint.ts <= q.end)
    return where


def data(
    session: Session, principal: Principal, uid: str, q: DataQuery, settings: PodiumSettings | None = None
) -> dict[str, Any]:
    """The `MetricsData` body as plain data: a page holds up to 100,000 points, and building a model
    per point would cost more than the query. `total_count` is the number of points returned (Lens's
    meaning); `next_cursor` appears when the page is full. With `settings`, the job's MLflow runs are
    copied in first when the query covers that source (MLflow down: a 503 only if it asked for `mlflow`)."""
    w = _workload(session, principal, uid)
    if settings is not None and q.source in (None, "mlflow"):
        mlflow_points.refresh(session, settings, w, strict=q.source == "mlflow")
    where = _where(uid, q)
    if q.bucket is not None:
        points = _buckets(session, where, q)
        return {"workload_uid": uid, "data_source": q.data_source, "data": points, "total_count": len(points)}
    if q.cursor is not None:
        where.append(tuple_(MetricPoint.ts, MetricPoint.id) > tuple_(*q.cursor))
    stmt = (
        select(MetricPoint.metric_name, MetricPoint.value, MetricPoint.ts, MetricPoint.iteration,
               MetricPoint.data_source, MetricPoint.id)
        .where(*where)
        .order_by(MetricPoint.ts, MetricPoint.id)
        .limit(q.limit)
    )  # fmt: skip
    rows = session.execute(stmt).all()
    body: dict[str, Any] = {
        "workload_uid": uid,
        "data_source": q.data_source,
        "data": [
            {"metric_name": r[0], "value": r[1], "timestamp": r[2], "iteration": r[3], "data_source": r[4]}
            for r in rows
        ],
        "total_count": len(rows),
    }
    if len(rows) == q.limit and rows:
        body["next_cursor"] = f"{rows[-1][2]}.{rows[-1][5]}"
    return body


def _buckets(session: Session, where: list[ColumnElement[bool]], q: DataQuery) -> list[dict[str, Any]]:
    assert q.bucket is not None
    start = (MetricPoint.ts // q.bucket) * q.bucket
    value: Any = {
        "avg": func.avg(MetricPoint.value),
        "min": func.min(MetricPoint.value),
        "max": func.max(MetricPoint.value),
        "last": func.array_agg(
            aggregate_order_by(MetricPoint.value, MetricPoint.ts.desc(), MetricPoint.id.desc())
        )[1],
    }[q.agg]
    bucket = start.label("bucket")
    rows = session.execute(
        select(
            MetricPoint.metric_name, MetricPoint.data_source, bucket, value, func.max(MetricPoint.iteration)
        )
        .where(*where)
        .group_by(MetricPoint.metric_name, MetricPoint.data_source, bucket)
        .order_by(bucket, MetricPoint.metric_name, MetricPoint.data_source)
        .limit(q.limit)
    ).all()
    return [
        {"metric_name": r[0], "value": float(r[3]), "timestamp": int(r[2]), "iteration": int(r[4]),
         "data_source": r[1]}
        for r in rows
    ]  # fmt: skip


def data_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric_name", "value", "timestamp", "iteration", "data_source"])
    for p in result["data"]:
        # Names come from training logs and other tools: neutralise spreadsheet formulas.
        name = p["metric_name"]
        name = "'" + name if name[:1] in ("=", "+", "-", "@") else name
        writer.writerow([name, repr(p["value"]), p["timestamp"], p["iteration"], p["data_source"]])
    return out.getvalue()


def ingest(session: Session, principal: Principal, uid: str, body: IngestBody) -> IngestResult:
    _workload(session, principal, uid)
    points = [
        store.Point(p.metric_name, p.value, p.timestamp, p.iteration, p.pod, p.data_source)
        for p in body.points
    ]
    stored = store.insert_points(session, uid, points)
    return IngestResult(workload_uid=uid, received=len(points), stored=stored)
