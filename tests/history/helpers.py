"""Runs made through MlflowClient the way a training job's MLflow callback makes them."""

from __future__ import annotations

import time
from typing import Any

from api.fixtures import unique
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from mlflow.entities import Metric, Param


def experiment(mlflow: MlflowClient, prefix: str = "exp") -> tuple[str, str]:
    name = unique(prefix)
    return mlflow.create_experiment(name), name


def make_run(
    mlflow: MlflowClient,
    experiment_id: str,
    *,
    name: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    history: dict[str, list[float]] | None = None,
    final: dict[str, float] | None = None,
    status: str | None = "FINISHED",
) -> str:
    """A run as LLaMA-Factory's MLflow callback leaves one: tags, params, per-step metrics, final figures."""
    run = mlflow.create_run(experiment_id, run_name=name, tags=tags or {})
    run_id: str = run.info.run_id
    now = int(time.time() * 1000)
    metrics = [
        Metric(key, value, now + step, step)
        for key, values in (history or {}).items()
        for step, value in enumerate(values, start=1)
    ]
    metrics += [Metric(key, value, now, 0) for key, value in (final or {}).items()]
    mlflow.log_batch(
        run_id,
        metrics=metrics,
        params=[Param(k, v) for k, v in (params or {}).items()],
        tags=[],
    )
    if status is not None:
        mlflow.set_terminated(run_id, status)
    return run_id


def get_json(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    r = client.get(url, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()
