"""kubesim over real HTTP for the kubesim tests.

`kubesim` (+ `api_client`, `core`, `apps`, `namespace`): one bare-scenario server per test worker and a
fresh namespace per test. `small_cluster` (+ `ns`): the `small` scenario with every controller, one per test
module (at the module's `SPEED`, default 40), for the controller tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes import client, config
from podium_kubesim.runner import RunningKubeSim, start_kubesim

T = TypeVar("T")

# Fast enough for quick tests, slow enough that transient states (Terminating) stay observable.
SPEED = 20.0


@pytest.fixture(scope="session")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKubeSim]:
    with start_kubesim(speed=SPEED, bookmark_interval=0.3, history_size=5_000) as running:
        yield running


@pytest.fixture(scope="session")
def kubeconfig(kubesim: RunningKubeSim, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kubesim.write_kubeconfig(tmp_path_factory.mktemp("kubesim") / "kubeconfig")


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    """The official client configured from a kubeconfig, exactly as Podium's services configure it."""
    api = config.new_client_from_config(config_file=str(kubeconfig))
    yield api
    api.close()


@pytest.fixture
def namespace(api_client: client.ApiClient) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def kubectl_env(kubeconfig: Path) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(kubeconfig)}


@pytest.fixture(scope="module")
def small_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningKubeSim, client.ApiClient]]:
    speed = float(getattr(request.module, "SPEED", 40.0))
    with start_kubesim("small", speed=speed) as running:
        path = running.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")
        api = config.new_client_from_config(config_file=str(path))
        yield running, api
        api.close()


@pytest.fixture
def ns(small_cluster: tuple[RunningKubeSim, client.ApiClient], request: pytest.FixtureRequest) -> str:
    """A namespace named after the test in the module's `small_cluster`."""
    name = request.node.name.replace("_", "-")[:50].lower().strip("-")
    client.CoreV1Api(small_cluster[1]).create_namespace({"metadata": {"name": name}})
    return name
