"""What the training-history API answers, and the params of its command kinds."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

RUN_ID = r"^[0-9A-Za-z_-]{1,64}$"


class RunSummary(BaseModel):
    """One row of the history table."""

    id: str
    experiment_id: str
    experiment: str | None
    run_name: str | None
    status: str
    lifecycle_stage: str
    start_time: datetime | None
    end_time: datetime | None
    duration_seconds: float | None
    # Latest value of every metric (train_samples_per_second, train_steps_per_second, loss, epoch, …).
    metrics: dict[str, float]
    # Tags without MLflow's own `mlflow.*`.
    tags: dict[str, str]


class RunPage(BaseModel):
    runs: list[RunSummary]
    # The visible tag keys of this page's runs, in column order.
    tag_columns: list[str]
    # Pass back as `cursor` for the next page; null on the last page.
    next_cursor: str | None
    tracking_uri: str


class MetricPoint(BaseModel):
    step: int
    value: float
    timestamp: datetime


class LinkedJob(BaseModel):
    """The Kubernetes training job a run came from: from the watcher's snapshot, the submission that
    created it, or the workload whose logs Podium kept."""

    cluster: str
    namespace: str | None
    name: str
    kind: str
    uid: str | None
    matched_by: str  # "workload_uid", "operation" (the submission that created the job) or "name"


class RunDetail(RunSummary):
    params: dict[str, str]
    all_tags: dict[str, str] = Field(description="every tag, MLflow's own included")
    metric_history: dict[str, list[MetricPoint]]
    job: LinkedJob | None


class CompareRun(BaseModel):
    id: str
    run_name: str | None
    experiment: str | None


class Comparison(BaseModel):
    runs: list[CompareRun]
    metrics: list[str]
    # The union of every logged step, ascending; each series has one value (or null) per step.
    steps: list[int]
    series: dict[str, dict[str, list[float | None]]] = Field(description="metric -> run id -> values")


class RunRef(BaseModel):
    """Params of delete_training_run / restore_training_run. The operation's cluster says which tracking
    server (the cluster's own, else the global one)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(pattern=RUN_ID)
