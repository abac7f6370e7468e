"""Fixtures and helpers for the serving integration tests (tests/integration/test_serving_*): the API app
on the pipeline's own database, a watcher thread streaming kubesim into that Redis, and calls through the
API server's service proxy. Import with `from integration.serving_helpers import *`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from kubernetes import client as k8s
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_kubesim.runner import RunningKubeSim
from podium_shared.auth.service import create_user
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.models.user import Role
from podium_shared.settings import PodiumSettings
from podium_watcher.main import run_watcher
from podium_watcher.settings import WatcherSettings
from support.waiting import wait_until
from worker.fixtures import Pipeline

__all__ = [
    "ServingApi",
    "api_for",
    "api_settings",
    "proxy_post",
    "ready_replicas",
    "served_by",
    "serving_api",
    "succeeded",
    "watcher",
    "watching",
]


class ServingApi:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def command(self, kind: str, cluster: str, params: dict[str, Any]) -> httpx.Response:
        return self.client.post(
            "/api/v1/commands",
            headers=self.headers,
            json={"kind": kind, "cluster": cluster, "params": params},
        )


def api_settings(settings: PodiumSettings) -> ApiSettings:
    """The API's settings for the tests: the pipeline's, with a rate limit no test reaches."""
    return ApiSettings(
        **(settings.model_dump() | {"rate_limit_per_second": 1000.0, "rate_limit_burst": 1000})
    )


@contextmanager
def api_for(pipeline: Pipeline, settings: PodiumSettings) -> Iterator[ServingApi]:
    """The API app on `settings`, called by a new operator."""
    with unit_of_work(pipeline.sessions) as session:
        _user, token = create_user(session, f"op-{uuid.uuid4().hex[:8]}", Role.operator)
    with TestClient(create_app(api_settings(settings)), raise_server_exceptions=False) as client:
        yield ServingApi(client, token)


@contextmanager
def watching(settings: PodiumSettings) -> Iterator[None]:
    """The real watcher on `settings`, in a thread (cluster watches, log collectors, MLflow pollers)."""
    stop = threading.Event()
    fast = {
        "watcher_metrics_port": 0,
        "watcher_cluster_refresh_seconds": 0.5,
        "watcher_heartbeat_seconds": 0.5,
        "watcher_campaign_interval_seconds": 0.2,
    }
    thread = threading.Thread(
        target=run_watcher, args=(WatcherSettings(**(settings.model_dump() | fast)), stop), name="watcher",
        daemon=True,
    )  # fmt: skip
    thread.start()
    yield
    stop.set()
    thread.join(15)


@pytest.fixture(scope="module")
def serving_api(pipeline: Pipeline, sim_cluster: str) -> Iterator[ServingApi]:
    with api_for(pipeline, pipeline.settings) as api:
        yield api


@pytest.fixture(scope="module")
def watcher(pipeline: Pipeline, sim_cluster: str) -> Iterator[None]:
    """The real watcher, in a thread, streaming the registered kubesim into this module's Redis."""
    with watching(pipeline.settings):
        yield


def succeeded(pipeline: Pipeline, op_id: Any, timeout: float = 60.0) -> Operation:
    done = pipeline.wait_finished(op_id, timeout=timeout)
    assert done.status == OperationStatus.succeeded, done.error
    return done


def ready_replicas(
    apps: k8s.AppsV1Api, namespace: str, name: str, replicas: int, timeout: float = 60.0
) -> None:
    def ready() -> bool:
        dep = apps.read_namespaced_deployment(name, namespace)
        return (dep.status.ready_replicas or 0) == replicas and (dep.status.replicas or 0) == replicas

    wait_until(ready, timeout, f"{namespace}/{name} to have {replicas} ready replicas")


def proxy_post(
    kubesim: RunningKubeSim, namespace: str, service: str, body: dict[str, Any], port: int = 8000
) -> httpx.Response:
    """A completion through the API server's service proxy, as any client of the Service would send it."""
    url = f"{kubesim.url}/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/v1/completions"
    return httpx.post(url, json=body, headers={"Authorization": "Bearer test"}, timeout=10)


def served_by(
    kubesim: RunningKubeSim, namespace: str, service: str, n: int, model: str = "Qwen/Qwen3-0.6B"
) -> Callable[[], set[str]]:
    def collect() -> set[str]:
        pods = set()
        for _ in range(n):
            r = proxy_post(kubesim, namespace, service, {"model": model, "prompt": "hi", "max_tokens": 1})
            assert r.status_code == 200, r.text
            pods.add(r.json()["kubesim_pod"])
        return pods

    return collect
