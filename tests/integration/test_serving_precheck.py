"""deploy_model's accept-time capacity check, through the API with the real watcher feeding the snapshot:
a replica bigger than any node is refused with 422 (and audited as `invalid`, no operation written); more
replicas than the free GPUs hold is accepted with a warning kept on the operation; a cluster no watcher has
streamed yet is accepted with a warning and left to the worker's check.

kubesim's default scenario: GPU nodes 2 x ml.g5.12xlarge (4 GPUs) and 1 x ml.p4d.24xlarge (8 GPUs)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from podium_shared.clusters.service import register_cluster
from podium_shared.db.session import unit_of_work
from podium_shared.models.audit import AuditEvent
from podium_shared.models.operation import Operation
from sqlalchemy import select
from support.waiting import wait_until
from worker.fixtures import Pipeline

from integration.serving_helpers import *  # noqa: F403  (serving_api, watcher, helpers)
from integration.serving_helpers import ServingApi, succeeded

pytestmark = pytest.mark.usefixtures("worker", "watcher")


@pytest.fixture(scope="module")
def snapshot(serving_api: ServingApi, sim_cluster: str) -> dict[str, Any]:
    """Wait until the watcher has streamed the nodes: the check reads nothing else."""

    def nodes() -> dict[str, Any] | None:
        r = serving_api.client.get(f"/api/v1/clusters/{sim_cluster}/status", headers=serving_api.headers)
        body: dict[str, Any] | None = r.json() if r.status_code == 200 else None
        return body if body and body["totals"]["gpu_allocatable"] >= 16 else None

    status: dict[str, Any] = wait_until(nodes, 30, "the watcher's snapshot of the nodes")
    return status


def _audit(pipeline: Pipeline, name: str) -> list[AuditEvent]:
    with pipeline.sessions() as session:
        rows = list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "command.deploy_model", AuditEvent.resource_name == name
                )
            )
        )
        session.expunge_all()
        return rows


def _operations(pipeline: Pipeline, namespace: str) -> list[Operation]:
    with pipeline.sessions() as session:
        return list(session.scalars(select(Operation).where(Operation.namespace == namespace)))


def test_a_replica_larger_than_any_node_is_refused_at_accept(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, snapshot: dict[str, Any], namespace: str
) -> None:
    params = {
        "namespace": namespace,
        "name": "huge",
        "engine": "vllm",
        "model": "m/x",
        "gpus_per_replica": 16,
    }
    r = serving_api.command("deploy_model", sim_cluster, params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "does_not_fit"
    assert body["details"] == {"gpus_per_replica": 16, "largest_node_gpus": 8}
    assert _operations(pipeline, namespace) == []
    [event] = _audit(pipeline, "huge")
    assert event.outcome == "invalid"
    assert event.namespace == namespace
    assert event.operation_id is None

    # The node selector narrows the candidates: 8 GPUs fit a p4d node but no g5 node.
    on_g5 = {**params, "name": "on-g5", "gpus_per_replica": 8, "instance_type": "ml.g5.12xlarge"}
    r = serving_api.command("deploy_model", sim_cluster, on_g5)
    assert r.status_code == 422, r.text
    assert r.json()["details"]["largest_node_gpus"] == 4


def test_more_replicas_than_free_gpus_is_accepted_with_a_warning(
    *,
    pipeline: Pipeline,
    serving_api: ServingApi,
    sim_cluster: str,
    snapshot: dict[str, Any],
    namespace: str,
    kube: k8s.ApiClient,
) -> None:
    free = snapshot["totals"]["gpu_free"]
    slots = sum(n["gpu_free"] // 4 for n in snapshot["nodes"] if n["ready"] and not n["unschedulable"])
    replicas = slots + 1
    params = {
        "namespace": namespace, "name": "wide", "engine": "vllm", "model": "m/x",
        "gpus_per_replica": 4, "replicas": replicas, "pool": True,
    }  # fmt: skip
    r = serving_api.command("deploy_model", sim_cluster, params)
    assert r.status_code == 202, r.text
    [warning] = r.json()["result"]["accept_warnings"]
    assert f"only {slots} of {replicas} replicas fit" in warning, (warning, free)
    [event] = _audit(pipeline, "wide")
    assert event.outcome == "accepted"
    assert event.details["warnings"] == [warning]

    # The worker's own result (with its live check) keeps the accept-time warning next to it.
    done = succeeded(pipeline, r.json()["id"])
    assert done.result["accept_warnings"] == [warning]
    assert done.result["name"] == "wide"
    assert done.result["warnings"]

    # A redeploy: the pods it replaces hold GPUs now but give them back, so they do not count against it.
    def placed() -> bool:
        r = serving_api.client.get(f"/api/v1/clusters/{sim_cluster}/status", headers=serving_api.headers)
        return r.status_code == 200 and r.json()["totals"]["gpu_free"] <= free - 4 * slots

    wait_until(placed, 30, "the snapshot to show the pool's pods on their nodes")
    again = serving_api.command("deploy_model", sim_cluster, {**params, "replicas": slots})
    assert again.status_code == 202, again.text
    assert again.json()["result"] is None
    succeeded(pipeline, again.json()["id"])
    succeeded(
        pipeline,
        serving_api.command("undeploy_model", sim_cluster, {"namespace": namespace, "name": "wide"}).json()[
            "id"
        ],
    )


def test_without_a_snapshot_the_check_is_skipped_with_a_warning(
    *, pipeline: Pipeline, serving_api: ServingApi, tmp_path: Path, snapshot: dict[str, Any]
) -> None:
    # A registered cluster no watcher can stream: its API server address refuses connections.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1", "kind": "Config", "current-context": "ghost",
                "clusters": [{"name": "ghost", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "ghost", "user": {"token": "x"}}],
                "contexts": [{"name": "ghost", "context": {"cluster": "ghost", "user": "ghost"}}],
            }
        )
    )  # fmt: skip
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(session, "ghost", kubeconfig_path=str(kubeconfig), context="ghost")
    params = {
        "namespace": "default",
        "name": "blind",
        "engine": "vllm",
        "model": "m/x",
        "gpus_per_replica": 64,
    }
    r = serving_api.command("deploy_model", "ghost", params)
    assert r.status_code == 202, r.text
    assert r.json()["result"]["accept_warnings"] == [
        "no snapshot of cluster 'ghost' yet (is a watcher running?); the capacity check runs when the "
        "operation executes"
    ]
    cancel = serving_api.client.post(
        f"/api/v1/operations/{r.json()['id']}/cancel", headers=serving_api.headers
    )
    assert cancel.status_code in (200, 202, 409), cancel.text
