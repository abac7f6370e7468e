"""A SageMaker managed MLflow ARN as tracking URI, with the sagemaker-mlflow plugin installed (it is in
the dev extra). Nothing here reaches AWS: the tests check that the ARN reaches MlflowClient unchanged,
that MLflow's tracking-store registry resolves it to the plugin's store, that the plugin's routing header
carries it, and that a request through the API fails as a bounded 503 naming the ARN (no network)."""

from __future__ import annotations

import mlflow
import pytest
from fastapi.testclient import TestClient
from mlflow.tracking._tracking_service.utils import _tracking_store_registry
from mlflow.tracking.request_header.registry import resolve_request_headers
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.errors import PodiumError
from podium_shared.history.client import Tracking
from sagemaker_mlflow.mlflow_sagemaker_store import MlflowSageMakerStore

# One ARN for the whole suite: the plugin routes by one process-wide ARN (see history/client.py).
ARN = "arn:aws:sagemaker:us-west-2:123456789012:mlflow-tracking-server/podium-test"


def test_the_arn_reaches_the_client_unchanged_and_the_plugin_serves_it() -> None:
    assert _tracking_store_registry.get_store_builder(ARN) is MlflowSageMakerStore
    t = Tracking(ARN, timeout=2.0)
    assert t.client.tracking_uri == ARN
    store = t.client._tracking_client.store
    assert isinstance(store, MlflowSageMakerStore)
    assert store.store_uri == ARN
    # The plugin's request-header provider routes by the process-wide URI, which Tracking set to the ARN.
    assert mlflow.get_tracking_uri() == ARN
    assert resolve_request_headers()["x-mlflow-sm-tracking-server-arn"] == ARN


def test_a_second_arn_in_the_same_process_is_refused() -> None:
    Tracking(ARN, timeout=2.0)
    other = ARN.replace("podium-test", "someone-else")
    with pytest.raises(PodiumError) as refused:
        Tracking(other, timeout=2.0)
    assert refused.value.code == "mlflow_not_configured"
    assert ARN in refused.value.message


def test_an_arn_through_the_api_is_a_bounded_503_naming_it(api_settings: ApiSettings, viewer) -> None:
    settings = api_settings.model_copy(
        update={"mlflow_tracking_uri": ARN, "mlflow_request_timeout_seconds": 3.0}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get("/api/v1/training/runs", headers=viewer.headers)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "mlflow_unavailable"
    assert r.json()["details"]["tracking_uri"] == ARN
