"""Durable storage of collected lines, positions and metric points (Postgres), with the collector's fence.

One batch is one transaction: check the fence, remember the workloads, insert the lines (their ids come
back for the live topic), move each stream's position, insert the metric points. Because the position
moves in the same transaction as the lines, a resume can never skip a stored line or store one twice;
the unique (pod_uid, container, seq) and point constraints make a replayed batch harmless anyway."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from podium_shared.errors import Conflict
from podium_shared.models.telemetry import (
    LogCollectorLease,
    LogLine,
    LogStream,
    TelemetryWorkload,
)


class Fenced(Conflict):
    """Another collector claimed the cluster after us: this one must stop writing."""


@dataclass(frozen=True)
class Workload:
    uid: str
    cluster: str
    namespace: str
    name: str
    kind: str


@dataclass(frozen=True)
class StreamKey:
    pod_uid: str
    container: str


@dataclass
class Position:
    """How far a container's log has been consumed: the last sequence number given to a stored line,
    the newest timestamp read and how many lines read carried exactly that timestamp."""

    last_seq: int = 0
    last_ts: datetime | None = None
    ts_count: int = 0


@dataclass(frozen=True)
class Line:
    seq: int
    ts: datetime
    text: str
    ts_count: int  # the position's ts_count once this line was read (for the stored position)


@dataclass(frozen=True)
class Point:
    name: str
    value: float
    ts_ms: int
    iteration: int
    pod: str = ""
    source: str = "log"


@dataclass
class StreamBatch:
    key: StreamKey
    workload: Workload
    pod: str
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    dropped: int = 0
    truncated: int = 0


def claim(session: Session, cluster: str, holder: str) -> int:
    """A new term: take the cluster's fence (waits for an in-flight batch of the previous leader)."""
    stmt = (
        pg_insert(LogCollectorLease)
        .values(cluster=cluster, fence=1, holder=holder, claimed_at=func.now())
        .on_conflict_do_update(
            index_elements=[LogCollectorLease.cluster],
            set_={"fence": LogCollectorLease.fence + 1, "holder": holder, "claimed_at": func.now()},
        )
        .returning(LogCollectorLease.fence)
    )
    return int(session.execute(stmt).scalar_one())


def _check_fence(session: Session, cluster: str, fence: int) -> None:
    current = session.execute(
        select(LogCollectorLease.fence).where(LogCollectorLease.cluster == cluster).with_for_update()
    ).scalar_one_or_none()
    if current != fence:
        raise Fenced(f"the log collector of cluster {cluster} was taken over (fence {current} > {fence})")


def position(session: Session, key: StreamKey) -> tuple[Position, int, int]:
    """(position, dropped, truncated) of a stream; a stream never stored starts at zero."""
    row = session.get(LogStream, (key.pod_uid, key.container))
    if row is None:
        return Position(), 0, 0
    return Position(row.last_seq, row.last_ts, row.ts_count), row.dropped, row.truncated


def recent_text(session: Session, key: StreamKey, head: int = 50, tail: int = 200) -> list[str]:
    """The first and last stored lines of a stream, in order: enough to restore the metric parser's
    state (total steps from the prelude, the last step counter) after a restart."""
    base = select(LogLine.seq, LogLine.line).where(
        LogLine.pod_uid == key.pod_uid, LogLine.container == key.container
    )
    first = session.execute(base.order_by(LogLine.seq).limit(head)).all()
    last = session.execute(base.order_by(LogLine.seq.desc()).limit(tail)).all()
    merged = {row[0]: row[1] for row in (*first, *last)}
    return [merged[s] for s in sorted(merged)]


def remember_workload(session: Session, w: Workload) -> None:
    session.execute(
        pg_insert(TelemetryWorkload)
        .values(uid=w.uid, cluster=w.cluster, namespace=w.namespace, name=w.name, kind=w.kind)
        .on_conflict_do_nothing(index_elements=[TelemetryWorkload.uid])
    )


# One statement per table and batch, with the rows as arrays (`unnest`): a few bound parameters instead of
# ten per row, which keeps thousands of lines per second cheap in Python and in Postgres.
_INSERT_LINES = text(
    """
    INSERT INTO log_lines (cluster, namespace, workload_uid, pod, pod_uid, container, ts, seq, line)
    SELECT * FROM unnest(
        CAST(:cluster AS text[]), CAST(:namespace AS text[]), CAST(:workload_uid AS text[]),
        CAST(:pod AS text[]), CAST(:pod_uid AS text[]), CAST(:container AS text[]),
        CAST(:ts AS timestamptz[]), CAST(:seq AS bigint[]), CAST(:line AS text[]))
    ON CONFLICT ON CONSTRAINT uq_log_lines_stream_seq DO NOTHING
    RETURNING id, pod_uid, container, seq
    """
)
_UPSERT_STREAMS = text(
    """
    INSERT INTO log_streams (pod_uid, container, cluster, namespace, pod, workload_uid, last_seq, last_ts,
                             ts_count, dropped, truncated, updated_at)
    SELECT u.*, now() FROM unnest(
        CAST(:pod_uid AS text[]), CAST(:container AS text[]), CAST(:cluster AS text[]),
        CAST(:namespace AS text[]), CAST(:pod AS text[]), CAST(:workload_uid AS text[]),
        CAST(:last_seq AS bigint[]), CAST(:last_ts AS timestamptz[]), CAST(:ts_count AS integer[]),
        CAST(:dropped AS bigint[]), CAST(:truncated AS bigint[])) AS u
    ON CONFLICT (pod_uid, container) DO UPDATE SET
        dropped = log_streams.dropped + excluded.dropped,
        truncated = log_streams.truncated + excluded.truncated,
        last_seq = CASE WHEN excluded.last_ts IS NULL THEN log_streams.last_seq ELSE excluded.last_seq END,
        ts_count = CASE WHEN excluded.last_ts IS NULL THEN log_streams.ts_count ELSE excluded.ts_count END,
        last_ts = COALESCE(excluded.last_ts, log_streams.last_ts),
        updated_at = now()
    """
)
_INSERT_POINTS = text(
    """
    INSERT INTO metric_points (workload_uid, pod, metric_name, value, ts, iteration, data_source)
    SELECT * FROM unnest(
        CAST(:workload_uid AS text[]), CAST(:pod AS text[]), CAST(:metric_name AS text[]),
        CAST(:value AS double precision[]), CAST(:ts AS bigint[]), CAST(:iteration AS integer[]),
        CAST(:data_source AS text[]))
    ON CONFLICT ON CONSTRAINT uq_metric_points_point DO NOTHING
    RETURNING id
    """
)


def _columns(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, list[Any]]:
    return {n: [r[n] for r in rows] for n in names}


_LINE_COLUMNS = ("cluster", "namespace", "workload_uid", "pod", "pod_uid", "container", "ts", "seq", "line")
_POINT_COLUMNS = ("workload_uid", "pod", "metric_name", "value", "ts", "iteration", "data_source")


def write_batches(
    session: Session, cluster: str, fence: int, batches: list[StreamBatch]
) -> list[dict[str, Any]]:
    """Store the batches under the fence; returns the stored lines (with ids) for the live topic."""
    _check_fence(session, cluster, fence)
    for w in {b.workload.uid: b.workload for b in batches}.values():
        remember_workload(session, w)
    rows: list[dict[str, Any]] = [
        {
            "cluster": cluster, "namespace": b.workload.namespace, "workload_uid": b.workload.uid,
            "pod": b.pod, "pod_uid": b.key.pod_uid, "container": b.key.container,
            "ts": line.ts, "seq": line.seq, "line": line.text,
        }
        for b in batches
        for line in b.lines
    ]  # fmt: skip
    names = {b.workload.uid: b.workload.name for b in batches}
    stored: list[dict[str, Any]] = []
    if rows:
        result = session.execute(_INSERT_LINES, _columns(rows, _LINE_COLUMNS))
        ids = {(r.pod_uid, r.container, r.seq): r.id for r in result}
        for row in rows:
            line_id = ids.get((row["pod_uid"], row["container"], row["seq"]))
            if line_id is not None:
                stored.append({"id": line_id, "job": names[str(row["workload_uid"])], **row})
    positions = [_position(cluster, b) for b in batches]
    session.execute(_UPSERT_STREAMS, _columns(positions, tuple(positions[0])))
    points = [_point_row(b.workload.uid, p) for b in batches for p in b.points]
    if points:
        session.execute(_INSERT_POINTS, _columns(points, _POINT_COLUMNS))
    stored.sort(key=lambda r: r["id"])
    return stored


def _position(cluster: str, b: StreamBatch) -> dict[str, Any]:
    last = b.lines[-1] if b.lines else None
    return {
        "pod_uid": b.key.pod_uid, "container": b.key.container, "cluster": cluster,
        "namespace": b.workload.namespace, "pod": b.pod, "workload_uid": b.workload.uid,
        "last_seq": last.seq if last else 0, "last_ts": last.ts if last else None,
        "ts_count": last.ts_count if last else 0, "dropped": b.dropped, "truncated": b.truncated,
    }  # fmt: skip


def _point_row(workload_uid: str, p: Point) -> dict[str, Any]:
    return {
        "workload_uid": workload_uid, "pod": p.pod, "metric_name": p.name, "value": p.value, "ts": p.ts_ms,
        "iteration": p.iteration, "data_source": p.source,
    }  # fmt: skip


def insert_points(session: Session, workload_uid: str, points: list[Point]) -> int:
    """Ingest: store points not stored yet; returns how many were new."""
    if not points:
        return 0
    rows = [_point_row(workload_uid, p) for p in points]
    return len(session.execute(_INSERT_POINTS, _columns(rows, _POINT_COLUMNS)).all())


def purge_lines(session: Session, before: datetime, limit: int = 10_000) -> int:
    """Delete up to `limit` lines older than `before` (the retention); call until it returns 0."""
    doomed = select(LogLine.id).where(LogLine.ts < before).limit(limit).scalar_subquery()
    result = session.execute(delete(LogLine).where(LogLine.id.in_(doomed)))
    deleted = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if deleted == 0:
        # Streams whose lines are all gone and that saw nothing new since: forget their positions too.
        session.execute(delete(LogStream).where(LogStream.updated_at < before))
    return deleted


def max_line_id(session: Session, cluster: str) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.max(LogLine.id), 0)).where(LogLine.cluster == cluster)
        ).scalar_one()
    )
