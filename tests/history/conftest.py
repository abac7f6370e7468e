"""Training-history tests run against a real MLflow tracking server (`mlflow_server`, one per xdist
worker) and the API on real Postgres and Redis. Runs are created through MlflowClient, in experiments
named uniquely per test, since every test of a worker shares the one server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api.fixtures import *  # noqa: F403  (admin, operator, viewer, app, client, cluster …)
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.embedded import EmbeddedMlflow
from worker.fixtures import *  # noqa: F403  (pipeline, worker, sim_kubeconfig, submit …)


@pytest.fixture(scope="session")
def mlflow(mlflow_server: EmbeddedMlflow) -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow_server.url)


@pytest.fixture
def mlflow_settings(api_settings: ApiSettings, mlflow_server: EmbeddedMlflow) -> ApiSettings:
    return api_settings.model_copy(
        update={"mlflow_tracking_uri": mlflow_server.url, "mlflow_request_timeout_seconds": 5.0}
    )


@pytest.fixture
def history(mlflow_settings: ApiSettings) -> Iterator[TestClient]:
    """The API with the global tracking URI pointing at the test's MLflow server."""
    with TestClient(create_app(mlflow_settings), raise_server_exceptions=False) as test_client:
        yield test_client
