"""Fixtures and helpers for the training integration tests (tests/integration/test_training_*): a worker
configured with an MLflow tracking URI and a fast download poll, and reads through the API. Import with
`from integration.training_helpers import *`, next to `integration.serving_helpers`' fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.training_golden import MLFLOW_URI
from support.waiting import wait_until
from worker.fixtures import Pipeline, WorkerProcess

from integration.serving_helpers import ServingApi

__all__ = ["TrainingWorker", "describe", "wait_phase", "worker"]


class TrainingWorker(WorkerProcess):
    def env(self) -> dict[str, str]:
        return super().env() | {
            "PODIUM_TRAINING_MLFLOW_TRACKING_URI": MLFLOW_URI,
            "PODIUM_TRAINING_DOWNLOAD_POLL_SECONDS": "0.05",
        }


@pytest.fixture(scope="module")
def worker(
    pipeline: Pipeline, sim_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = TrainingWorker(pipeline.settings, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield proc
    proc.stop()


def describe(api: ServingApi, cluster: str, namespace: str, name: str) -> dict[str, Any] | None:
    r = api.client.get(f"/api/v1/clusters/{cluster}/trainingjobs/{namespace}/{name}", headers=api.headers)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def wait_phase(
    api: ServingApi, cluster: str, namespace: str, name: str, phase: str, *, timeout: float = 60.0
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        job = describe(api, cluster, namespace, name)
        return job if job is not None and job["status"]["phase"] == phase else None

    result: dict[str, Any] = wait_until(reached, timeout, f"training job {namespace}/{name} to be {phase}")
    return result
