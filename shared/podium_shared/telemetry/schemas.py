"""Shapes of the telemetry API. The metric shapes are Primus Lens's (`/workloads/:uid/metrics/*`), field
for field, so Lens clients work unchanged; Podium's extensions only add (`next_cursor` when paging)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

DataSource = Literal["log", "wandb", "tensorflow", "mlflow"]
MAX_INGEST_POINTS = 10_000


class LogFilter(BaseModel):
    """Which kept lines (the query parameters of the plain-text download), as text: the reads parse
    them, so a bad one is a 400 that names it (Lens's behaviour), never FastAPI's 422."""

    pod: str | None = None
    container: str | None = None
    since: str | None = Field(None, description="RFC 3339 time, or a duration like 15m")


class LogQuery(LogFilter):
    """The kept-log page's query parameters: the filter, then which part of it."""

    tail: str | None = None
    limit: str | None = None
    cursor: str | None = None


class MetricsQuery(BaseModel):
    """`metrics/data`'s query parameters, as text (see LogFilter): Lens's, then Podium's extensions."""

    data_source: str | None = None
    metrics: str | None = Field(None, description="comma-separated metric names")
    start: str | None = Field(None, description="milliseconds since the epoch")
    end: str | None = Field(None, description="milliseconds since the epoch")
    limit: str | None = None
    cursor: str | None = None
    bucket: str | None = Field(None, description="time bucket in milliseconds")
    agg: str | None = Field(None, description="avg, min, max or last (with bucket)")
    format: str | None = Field(None, description="json or csv")


class LogLineOut(BaseModel):
    id: str  # the line's id: `cursor` of the REST reads and `since` of the `logs` WebSocket topic
    pod: str
    container: str
    timestamp: datetime
    seq: int  # 1, 2, 3 … per container of a pod: a gap would show here
    line: str
    workload_uid: str


class LogStreamOut(BaseModel):
    pod: str
    container: str
    workload_uid: str
    lines: int
    dropped: int  # lines the collector read but could not store in time (never silent)
    truncated: int  # lines cut at the collector's line-length limit
    last_timestamp: datetime | None


class LogPage(BaseModel):
    cluster: str
    namespace: str
    name: str
    lines: list[LogLineOut]
    next_cursor: str | None  # set when the page is full: pass it as `cursor` for the next one
    last_id: str | None  # newest id in this page: `cursor` to poll for lines after it, `since` for the topic
    streams: list[LogStreamOut]


class MetricInfo(BaseModel):
    name: str
    data_source: list[str]
    count: int


class AvailableMetrics(BaseModel):
    workload_uid: str
    metrics: list[MetricInfo]
    total_count: int


class MetricDataPoint(BaseModel):
    metric_name: str
    value: float
    timestamp: int  # milliseconds
    iteration: int
    data_source: str


class MetricsData(BaseModel):
    workload_uid: str
    data_source: str
    data: list[MetricDataPoint]
    total_count: int
    next_cursor: str | None = None  # extension; absent unless there is a next page


class IngestPoint(BaseModel):
    metric_name: str = Field(min_length=1, max_length=255)
    value: float
    timestamp: int = Field(ge=0, le=10**15)  # milliseconds
    iteration: int = Field(0, ge=0, le=2**31 - 1)
    data_source: DataSource
    pod: str = Field("", max_length=253)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


class IngestBody(BaseModel):
    points: list[IngestPoint] = Field(min_length=1, max_length=MAX_INGEST_POINTS)


class IngestResult(BaseModel):
    workload_uid: str
    received: int
    stored: int  # new points; the rest were already stored (ingest is idempotent)
