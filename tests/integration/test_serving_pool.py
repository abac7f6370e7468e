"""The model-pool lifecycle from the issue, end to end: API → Postgres → Celery worker → kubesim over HTTP,
with the watcher feeding the read endpoints.

Deploy a pool of 4; create services prod and test; distribute 3:1; requests through each Service are
answered only by its pods; move one pod with requests flowing and no failure; scale down by 1 with one
unassigned pod (exactly that pod goes); scale down by 2 (refused, nothing changed)."""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s
from podium_kubesim.runner import RunningKubeSim
from podium_shared.models.operation import Operation, OperationStatus
from support.waiting import wait_until
from worker.fixtures import Pipeline

from integration.serving_helpers import *  # noqa: F403  (serving_api, watcher, helpers)
from integration.serving_helpers import ServingApi, proxy_post, ready_replicas, served_by, succeeded

pytestmark = pytest.mark.usefixtures("worker", "watcher")


def _business_of(core: k8s.CoreV1Api, namespace: str) -> dict[str, str]:
    pods = core.list_namespaced_pod(namespace).items
    return {
        p.metadata.name: p.metadata.labels.get("business") for p in pods if not p.metadata.deletion_timestamp
    }


Accept = Callable[[str, dict[str, Any]], str]
Run = Callable[[str, dict[str, Any]], Operation]


@pytest.fixture
def accept(serving_api: ServingApi, sim_cluster: str, namespace: str) -> Accept:
    """accept(kind, params) -> the id of the command the API took (202); params default to this test's
    namespace."""

    def accept_(kind: str, params: dict[str, Any]) -> str:
        r = serving_api.command(kind, sim_cluster, {"namespace": namespace, **params})
        assert r.status_code == 202, r.text
        return str(r.json()["id"])

    return accept_


@pytest.fixture
def run(pipeline: Pipeline, accept: Accept) -> Run:
    """run(kind, params) -> the finished operation, which must have succeeded."""
    return lambda kind, params: succeeded(pipeline, accept(kind, params))


def test_pool_lifecycle(
    *,
    pipeline: Pipeline,
    serving_api: ServingApi,
    sim_cluster: str,
    kube: k8s.ApiClient,
    kubesim: RunningKubeSim,
    namespace: str,
    accept: Accept,
    run: Run,
) -> None:
    core, apps = k8s.CoreV1Api(kube), k8s.AppsV1Api(kube)
    api = serving_api

    deployed = run(
        "deploy_model", {"engine": "vllm", "model": "Qwen/Qwen3-0.6B", "replicas": 4, "pool": True}
    )
    pool = deployed.result["name"]
    assert deployed.result["service"] is None  # a pool gets business Services, not its own
    ready_replicas(apps, namespace, pool, 4)
    assert set(_business_of(core, namespace).values()) == {"unassigned"}

    for business in ("prod", "test"):
        run("create_business_service", {"pool": pool, "business": business})

    # Plan from the watcher's snapshot, apply as one bulk operation with a child per pod.
    def planned() -> dict[str, Any] | None:
        r = api.client.get(
            f"/api/v1/clusters/{sim_cluster}/pools/{namespace}/{pool}/distribution",
            params={"ratios": "prod:3,test:1"},
            headers=api.headers,
        )
        return r.json() if r.status_code == 200 and len(r.json()["moves"]) == 4 else None

    plan = wait_until(planned, 20, "a plan from the snapshot")
    command = plan["command"]
    distributed = run(command["kind"], command["params"])
    assert distributed.kind == "assign_pods"
    assert distributed.progress["succeeded"] == 4
    children = pipeline.children(distributed.id)
    assert sorted(c.kind for c in children) == ["assign_pod"] * 4
    assert all(c.status == OperationStatus.succeeded for c in children)
    labels = _business_of(core, namespace)
    prod = {p for p, b in labels.items() if b == "prod"}
    test = {p for p, b in labels.items() if b == "test"}
    assert (len(prod), len(test)) == (3, 1)

    # Each Service is answered only by its own pods (kubesim names the pod that served).
    wait_until(lambda: served_by(kubesim, namespace, f"{pool}-prod", 30)() == prod, 20, "prod endpoints")
    assert served_by(kubesim, namespace, f"{pool}-test", 10)() == test

    # The read endpoints see the same, from the watcher's snapshot.
    def status() -> dict[str, Any] | None:
        r = api.client.get(f"/api/v1/clusters/{sim_cluster}/pools/{namespace}/{pool}", headers=api.headers)
        body = r.json() if r.status_code == 200 else None
        return body if body and body["pods_per_business"] == {"prod": 3, "test": 1} else None

    snapshot = wait_until(status, 20, "pool status from the snapshot")
    assert snapshot["available_for_scale_down"] == 0
    assert snapshot["deployment"]["type"] == "pool"
    services = api.client.get(
        f"/api/v1/clusters/{sim_cluster}/business-services",
        params={"namespace": namespace},
        headers=api.headers,
    ).json()
    assert {(s["business"], s["model"]) for s in services} == {
        ("prod", "Qwen/Qwen3-0.6B"),
        ("test", "Qwen/Qwen3-0.6B"),
    }

    # Move one prod pod to test while requests keep flowing to prod: none may fail.
    moved = sorted(prod)[0]
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def traffic() -> None:
        nonlocal answered
        while not stop.is_set():
            r = proxy_post(
                kubesim,
                namespace,
                f"{pool}-prod",
                {"model": "Qwen/Qwen3-0.6B", "prompt": "x", "max_tokens": 1},
            )
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")
            answered += 1

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        reassigned = run("assign_pod", {"pod": moved, "business": "test", "drain_timeout_seconds": 10})
    finally:
        stop.set()
        sender.join(15)
    assert failures == []
    assert answered > 0
    assert reassigned.result["from"] == "prod"
    assert reassigned.result["drain"]["timed_out"] is False
    wait_until(
        lambda: served_by(kubesim, namespace, f"{pool}-test", 30)() == test | {moved}, 20, "traffic moved"
    )
    assert served_by(kubesim, namespace, f"{pool}-prod", 20)() == prod - {moved}

    # Scale up: the new pod arrives unassigned. Scale down by 1: exactly that pod goes.
    run("scale", {"name": pool, "replicas": 5})
    ready_replicas(apps, namespace, pool, 5)
    spare = [p for p, b in _business_of(core, namespace).items() if b == "unassigned"]
    assert len(spare) == 1
    assigned_before = {p for p, b in _business_of(core, namespace).items() if b != "unassigned"}
    scaled = run("scale", {"name": pool, "replicas": 4})
    assert scaled.result["removed"] == spare
    ready_replicas(apps, namespace, pool, 4)
    assert set(_business_of(core, namespace)) == assigned_before

    # Scale down by 2 with no unassigned pod: refused with the numbers, nothing changed.
    refused = pipeline.wait_finished(accept("scale", {"name": pool, "replicas": 2}))
    assert refused.status == OperationStatus.failed
    assert refused.error["message"] == "need 2 unassigned pods, only 0 available"
    assert apps.read_namespaced_deployment(pool, namespace).spec.replicas == 4
    assert set(_business_of(core, namespace)) == assigned_before

    # Undeploying a pool in use needs force; with it, everything goes in one operation.
    in_use = pipeline.wait_finished(accept("undeploy_model", {"name": pool}))
    assert in_use.status == OperationStatus.failed
    assert in_use.error["code"] == "pool_in_use"
    gone = run("undeploy_model", {"name": pool, "force": True})
    assert sorted(gone.result["deleted"]["services"]) == [f"{pool}-prod", f"{pool}-test"]
    wait_until(lambda: not core.list_namespaced_service(namespace).items, 20, "services removed")

    # Every step is audited, and the chain verifies.
    for op in (deployed, distributed, reassigned, scaled, refused, gone):
        actions = [e.action for e in pipeline.audit(op.id)]
        assert actions[0] == f"command.{op.kind}"
    pipeline.verify_audit()


@pytest.mark.parametrize(
    ("command_line", "gpus"),
    [
        ("vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size 2 --max-model-len 8192", 2),
        ("python -m vllm.entrypoints.openai.api_server --model=Qwen/Qwen3-0.6B --enable-prefix-caching", 1),
        ("python -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct --tp 2", 2),
        ("ollama run llama3", 1),
    ],
)
def test_each_engine_deploys_until_ready_and_answers(
    *,
    serving_api: ServingApi,
    sim_cluster: str,
    kube: k8s.ApiClient,
    kubesim: RunningKubeSim,
    namespace: str,
    command_line: str,
    gpus: int,
    run: Run,
) -> None:
    done = run("deploy_model", {"command_line": command_line})
    name, service = done.result["name"], done.result["service"]
    assert done.result["gpus_per_replica"] == gpus
    ready_replicas(k8s.AppsV1Api(kube), namespace, name, 1)
    svc = k8s.CoreV1Api(kube).read_namespaced_service(service, namespace)
    assert svc.spec.type == "LoadBalancer"
    assert svc.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"

    # The test console answers through the service proxy with the curl to reproduce it.
    def answer() -> dict[str, Any] | None:
        r = serving_api.client.post(
            f"/api/v1/clusters/{sim_cluster}/services/{namespace}/{service}/invoke",
            headers=serving_api.headers,
            json={"path": "/v1/models"},
        )
        return r.json() if r.status_code == 200 and r.json()["status"] == 200 else None

    answered = wait_until(answer, 20, "the test console to answer")
    assert answered["curl"].startswith("curl ")
    model = answered["body"]["data"][0]["id"]
    # Streaming passes the engine's server-sent events through, with the curl in a header.
    hostile = "it's $(rm -rf /) `id`\n; --data @/etc/passwd"
    with serving_api.client.stream(
        "POST",
        f"/api/v1/clusters/{sim_cluster}/services/{namespace}/{service}/invoke",
        headers=serving_api.headers,
        json={
            "path": "/v1/chat/completions",
            "body": {
                "model": model,
                "stream": True,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": hostile}],
            },
        },
    ) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = [line for line in streamed.iter_lines() if line.startswith("data:")]
        curl = json.loads(streamed.headers["x-podium-curl"])
    assert len(events) >= 2
    assert events[-1] == "data: [DONE]"
    body = shlex.split(curl)[shlex.split(curl).index("--data-raw") + 1]
    assert json.loads(body)["messages"][0]["content"] == hostile
    run("undeploy_model", {"name": name})


def test_the_worker_still_refuses_a_replica_larger_than_any_node(
    pipeline: Pipeline, submit: Callable[..., Operation], sim_cluster: str, namespace: str
) -> None:
    # Accepted without a snapshot (no Redis handed to accept_command), so only the worker's check runs:
    # it stays the safety net behind the API's accept-time refusal (test_serving_precheck.py).
    op = submit(
        "deploy_model",
        {"namespace": namespace, "engine": "vllm", "model": "big/model", "gpus_per_replica": 64},
        cluster=sim_cluster,
    )
    assert op.result is not None
    assert "no snapshot" in op.result["accept_warnings"][0]
    done = pipeline.wait_finished(op.id)
    assert done.status == OperationStatus.failed
    assert done.error["code"] == "does_not_fit"


def test_more_replicas_than_free_gpus_warns(run: Run) -> None:
    params = {"engine": "vllm", "model": "wide/model", "gpus_per_replica": 4, "replicas": 20}
    done = run("deploy_model", params)
    assert done.result["warnings"]
    assert "fit in the GPUs free now" in done.result["warnings"][0]
    run("undeploy_model", {"name": done.result["name"]})


def test_a_pod_leaving_a_business_is_drained_before_it_moves(
    *,
    kube: k8s.ApiClient,
    kubesim: RunningKubeSim,
    namespace: str,
    run: Run,
) -> None:
    core, apps = k8s.CoreV1Api(kube), k8s.AppsV1Api(kube)

    pool = run("deploy_model", {"engine": "sglang", "model": "Qwen/Qwen3-0.6B", "replicas": 2, "pool": True})
    name = pool.result["name"]
    ready_replicas(apps, namespace, name, 2)
    run("create_business_service", {"pool": name, "business": "prod"})
    run("distribute_pool", {"pool": name, "counts": {"prod": 1}})
    (busy,) = [p for p, b in _business_of(core, namespace).items() if b == "prod"]
    # Slow this pod's answers down (kubesim: simulated seconds per token) so a request stays in flight.
    core.patch_namespaced_pod(
        busy, namespace, {"metadata": {"annotations": {"kubesim.podium.dev/token-seconds": "2"}}}
    )
    metrics_path = f"{kubesim.url}/api/v1/namespaces/{namespace}/pods/{busy}:30000/proxy/metrics"

    def in_flight() -> float:
        text = httpx.get(metrics_path, timeout=5).text
        return sum(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("sglang:num_running_reqs")
        )

    answers: list[int] = []
    request = threading.Thread(
        target=lambda: answers.append(
            proxy_post(
                kubesim,
                namespace,
                f"{name}-prod",
                {"model": "Qwen/Qwen3-0.6B", "prompt": "p", "max_tokens": 20},
                port=8000,
            ).status_code
        )
    )
    request.start()
    wait_until(lambda: in_flight() >= 1, 10, "a request in flight on the prod pod")
    moved = run("assign_pod", {"pod": busy, "business": "unassigned", "drain_timeout_seconds": 30})
    request.join(30)
    assert answers == [200]  # the in-flight request finished normally
    drain = moved.result["drain"]
    assert drain["timed_out"] is False
    assert drain["in_flight"] == 0
    assert drain["waited_seconds"] > 0.2  # it really waited for the request, not just relabelled

    # Bounded: a request longer than the timeout does not hold the move forever.
    run("assign_pod", {"pod": busy, "business": "prod"})
    wait_until(lambda: served_by(kubesim, namespace, f"{name}-prod", 1)() == {busy}, 20, "pod back in prod")
    slow = threading.Thread(
        target=lambda: proxy_post(
            kubesim, namespace, f"{name}-prod", {"model": "Qwen/Qwen3-0.6B", "prompt": "p", "max_tokens": 40}
        )
    )
    slow.start()
    wait_until(lambda: in_flight() >= 1, 10, "a long request in flight")
    bounded = run("assign_pod", {"pod": busy, "business": "unassigned", "drain_timeout_seconds": 0.5})
    slow.join(30)
    assert bounded.result["drain"]["timed_out"] is True
    assert core.read_namespaced_pod(busy, namespace).metadata.labels["business"] == "unassigned"
