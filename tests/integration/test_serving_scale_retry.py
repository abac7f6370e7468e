"""A pool scale-down whose first attempt fails after the replica count changed: the retry must not report
a no-op but verify, from the plan the first attempt wrote on the Deployment, that exactly the chosen
unassigned pods went and no assigned pod did.

Deterministic: kubesim's controllers are paused so the chosen pods are still there when the first attempt
starts waiting, and the one request that comes only after the scale (the wait's watch of the pool's pods)
fails once with a 500 (a `/_sim/` fault rule); controllers resume once that rule has fired."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s
from podium_kubesim.runner import RunningKubeSim
from podium_shared.models.operation import Operation
from support.waiting import wait_until
from worker.fixtures import Faults, Pipeline

from integration.serving_helpers import *  # noqa: F403  (serving_api, helpers)
from integration.serving_helpers import ServingApi, ready_replicas, succeeded

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def paused_controllers(kubesim: RunningKubeSim) -> Iterator[httpx.Client]:
    admin = httpx.Client(base_url=kubesim.url, timeout=5.0)
    yield admin
    admin.post("/_sim/resume").raise_for_status()
    admin.close()


def _run(pipeline: Pipeline, api: ServingApi, cluster: str, kind: str, params: dict[str, Any]) -> Operation:
    r = api.command(kind, cluster, params)
    assert r.status_code == 202, r.text
    return succeeded(pipeline, r.json()["id"])


def test_a_retried_scale_down_verifies_what_the_first_attempt_did(
    *,
    pipeline: Pipeline,
    serving_api: ServingApi,
    sim_cluster: str,
    kube: k8s.ApiClient,
    namespace: str,
    faults: Faults,
    paused_controllers: httpx.Client,
) -> None:
    core, apps = k8s.CoreV1Api(kube), k8s.AppsV1Api(kube)
    ns = {"namespace": namespace}
    deployed = _run(
        pipeline, serving_api, sim_cluster, "deploy_model",
        {**ns, "engine": "vllm", "model": "Qwen/Qwen3-0.6B", "replicas": 3, "pool": True},
    )  # fmt: skip
    pool = deployed.result["name"]
    ready_replicas(apps, namespace, pool, 3)
    _run(
        pipeline,
        serving_api,
        sim_cluster,
        "create_business_service",
        {**ns, "pool": pool, "business": "prod"},
    )
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod(namespace).items)
    kept = pods[0]
    _run(pipeline, serving_api, sim_cluster, "assign_pod", {**ns, "pod": kept, "business": "prod"})

    paused_controllers.post("/_sim/pause").raise_for_status()
    rule = faults.add(verb="watch", resource="pods", namespace=namespace, status=500, count=1)
    r = serving_api.command("scale", sim_cluster, {**ns, "name": pool, "replicas": 2})
    assert r.status_code == 202, r.text

    # The first attempt scaled, then its wait failed: the rule has fired and the count is already 2.
    wait_until(lambda: all(f["id"] != rule for f in faults.rules()), 30, "the watch fault to fire")
    assert apps.read_namespaced_deployment(pool, namespace).spec.replicas == 2
    paused_controllers.post("/_sim/resume").raise_for_status()

    done = succeeded(pipeline, r.json()["id"])
    assert done.attempts >= 2
    verification = done.result["verification"]
    assert verification["retried"] is True
    assert verification["assigned_checked"] == [kept]
    [removed] = done.result["removed"]
    assert removed != kept
    assert done.result["replicas_before"] == 3
    assert done.result["replicas_after"] == 2
    assert done.result["assigned_pods_kept"] is True

    def live() -> set[str] | None:
        names = {p.metadata.name for p in core.list_namespaced_pod(namespace).items}
        return names if removed not in names else None

    assert kept in wait_until(live, 30, f"{removed} to be gone")
