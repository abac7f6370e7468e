"""Kept logs and training metrics: what the log collector stores and the telemetry reads serve.

Log lines outlive their pods and jobs (the point of keeping them), so nothing here references the
cluster's objects; a workload is remembered by its `metadata.uid` with the names it had."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from podium_shared.models.base import Base, utcnow

METRIC_SOURCES = ("log", "wandb", "tensorflow", "mlflow")


class TelemetryWorkload(Base):
    """A training job or download whose pods were collected (or that received ingested metrics)."""

    __tablename__ = "telemetry_workloads"
    __table_args__ = (Index("ix_telemetry_workloads_name", "cluster", "namespace", "name"),)

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    cluster: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(253))
    kind: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


class LogStream(Base):
    """One container of one pod: the collector's durable resume position and its drop counters."""

    __tablename__ = "log_streams"
    __table_args__ = (Index("ix_log_streams_workload", "workload_uid"),)

    pod_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    container: Mapped[str] = mapped_column(String(253), primary_key=True)
    cluster: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    pod: Mapped[str] = mapped_column(String(253))
    workload_uid: Mapped[str] = mapped_column(String(64))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Timestamp of the newest stored line and how many stored lines carry exactly it: a resume asks
    # the API server for lines since that time and skips that many lines stamped with it.
    last_ts: Mapped[datetime | None]
    ts_count: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(BigInteger, default=0)
    truncated: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogLine(Base):
    __tablename__ = "log_lines"
    __table_args__ = (
        UniqueConstraint("pod_uid", "container", "seq", name="uq_log_lines_stream_seq"),
        Index("ix_log_lines_workload", "workload_uid", "id"),
        Index("ix_log_lines_cluster", "cluster", "id"),
        # Lines arrive in time order, so a BRIN index serves the retention purge at a tiny cost.
        Index("ix_log_lines_ts", "ts", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    cluster: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    workload_uid: Mapped[str] = mapped_column(String(64))
    pod: Mapped[str] = mapped_column(String(253))
    pod_uid: Mapped[str] = mapped_column(String(64))
    container: Mapped[str] = mapped_column(String(253))
    ts: Mapped[datetime]
    seq: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(Text)


class MetricPoint(Base):
    __tablename__ = "metric_points"
    __table_args__ = (
        # The identity of a point: the same point sent (or parsed) twice is stored once.
        UniqueConstraint(
            "workload_uid",
            "metric_name",
            "data_source",
            "ts",
            "iteration",
            "pod",
            name="uq_metric_points_point",
        ),
        Index("ix_metric_points_time", "workload_uid", "ts", "id"),
        CheckConstraint("data_source IN ('log', 'wandb', 'tensorflow', 'mlflow')", name="data_source"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    workload_uid: Mapped[str] = mapped_column(String(64))
    pod: Mapped[str] = mapped_column(String(253), default="")
    metric_name: Mapped[str] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Double)
    ts: Mapped[int] = mapped_column(BigInteger)  # milliseconds since the epoch
    iteration: Mapped[int] = mapped_column(Integer, default=0)
    data_source: Mapped[str] = mapped_column(String(16))


class LogCollectorLease(Base):
    """The database half of the collector's leadership: every write bumps nothing but checks `fence`,
    and a new leader increments it first, so a deposed leader cannot store one more line."""

    __tablename__ = "log_collector_leases"

    cluster: Mapped[str] = mapped_column(String(63), primary_key=True)
    fence: Mapped[int] = mapped_column(BigInteger, default=0)
    holder: Mapped[str] = mapped_column(String(128), default="")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
