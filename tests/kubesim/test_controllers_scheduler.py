"""Scheduler through the official client: GPU capacity, selectors, taints, FailedScheduling and retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client, config
from podium_kubesim.controllers.scheduler import fit_error, matches_node, tolerates
from podium_kubesim.runner import RunningKubeSim, start_kubesim

from kubesim.helpers import wait_for

T = TypeVar("T")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[RunningKubeSim, client.CoreV1Api]]:
    # One fresh cluster per test: these tests fill the GPUs and must not see each other's pods.
    with start_kubesim("small", speed=40) as sim:
        api = config.new_client_from_config(config_file=str(sim.write_kubeconfig(tmp_path / "config")))
        yield sim, client.CoreV1Api(api)
        api.close()


def gpu_pod(name: str, gpus: int, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": "gpu"}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "vllm/vllm-openai:v0.6.4",
                    "resources": {
                        "limits": {"nvidia.com/gpu": str(gpus)},
                        "requests": {"cpu": "2", "memory": "8Gi"},
                    },
                }
            ],
            "terminationGracePeriodSeconds": 1,
            **spec,
        },
    }


def node_of(core: client.CoreV1Api, name: str) -> str | None:
    return core.read_namespaced_pod(name, "default").spec.node_name  # type: ignore[no-any-return]


def test_gpu_pods_fill_gpu_nodes_then_pend_then_schedule_when_freed(cluster: Any) -> None:
    _, core = cluster
    nodes = {n.metadata.name: n for n in core.list_node().items}
    gpu_nodes = {n for n, o in nodes.items() if o.status.allocatable.get("nvidia.com/gpu")}
    assert len(gpu_nodes) == 3  # 2 x ml.g5.12xlarge (4 GPUs) + 1 x ml.p4d.24xlarge (8 GPUs)
    for i in range(4):
        core.create_namespaced_pod("default", gpu_pod(f"full-{i}", 4))
    placed = [wait_for(lambda i=i: node_of(core, f"full-{i}"), what=f"full-{i} bound") for i in range(4)]
    assert set(placed) <= gpu_nodes
    assert sorted(placed.count(n) for n in gpu_nodes) == [1, 1, 2]  # the 8-GPU node takes two

    core.create_namespaced_pod("default", gpu_pod("extra", 4))

    def unschedulable() -> Any:
        pod = core.read_namespaced_pod("extra", "default")
        conds = {c.type: c for c in pod.status.conditions or []}
        c = conds.get("PodScheduled")
        return pod if c is not None and c.status == "False" else None

    pod = wait_for(unschedulable, what="extra pod marked unschedulable")
    cond = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert pod.status.phase == "Pending"
    assert cond.reason == "Unschedulable"
    assert cond.message == "0/5 nodes are available: 5 Insufficient nvidia.com/gpu."
    events = core.list_namespaced_event("default", field_selector="involvedObject.name=extra").items
    failed = [e for e in events if e.reason == "FailedScheduling"]
    assert failed
    assert failed[0].type == "Warning"
    assert failed[0].message == cond.message

    core.delete_namespaced_pod("full-0", "default")
    freed = placed[0]
    assert wait_for(lambda: node_of(core, "extra"), what="extra scheduled after capacity freed") == freed
    scheduled = [
        e
        for e in core.list_namespaced_event("default", field_selector="involvedObject.name=extra").items
        if e.reason == "Scheduled"
    ]
    assert scheduled[0].message == f"Successfully assigned default/extra to {freed}"


def test_node_selector_affinity_and_taints(cluster: Any) -> None:
    _, core = cluster
    core.create_namespaced_pod(
        "default",
        gpu_pod("p4d-only", 1, nodeSelector={"node.kubernetes.io/instance-type": "ml.p4d.24xlarge"}),
    )
    node = wait_for(lambda: node_of(core, "p4d-only"), what="selector pod bound")
    assert core.read_node(node).metadata.labels["node.kubernetes.io/instance-type"] == "ml.p4d.24xlarge"

    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "sagemaker.amazonaws.com/instance-group-name",
                                "operator": "In",
                                "values": ["inference-g5"],
                            }
                        ]
                    }
                ]
            }
        }
    }
    core.create_namespaced_pod("default", gpu_pod("g5-affinity", 1, affinity=affinity))
    node = wait_for(lambda: node_of(core, "g5-affinity"), what="affinity pod bound")
    assert (
        core.read_node(node).metadata.labels["sagemaker.amazonaws.com/instance-group-name"] == "inference-g5"
    )

    # Taint every GPU node; a GPU pod without a toleration cannot go anywhere.
    gpu_nodes = [n.metadata.name for n in core.list_node(label_selector="nvidia.com/gpu.present=true").items]
    for n in gpu_nodes:
        core.patch_node(
            n, {"spec": {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]}}
        )
    core.create_namespaced_pod("default", gpu_pod("no-toleration", 1))

    def message() -> str | None:
        pod = core.read_namespaced_pod("no-toleration", "default")
        c = next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)
        return c.message if c is not None and c.status == "False" else None

    assert wait_for(message, what="tainted nodes refused") == (
        "0/5 nodes are available: 2 Insufficient nvidia.com/gpu, "
        "3 node(s) had untolerated taint {nvidia.com/gpu: true}."
    )
    core.create_namespaced_pod(
        "default",
        gpu_pod(
            "tolerant",
            1,
            tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        ),
    )
    assert wait_for(lambda: node_of(core, "tolerant"), what="tolerating pod bound") in gpu_nodes
    # Removing the taints lets the waiting pod in: node changes re-queue unschedulable pods.
    for n in gpu_nodes:
        core.patch_node(n, {"spec": {"taints": None}})
    assert (
        wait_for(lambda: node_of(core, "no-toleration"), what="pod bound after taints removed") in gpu_nodes
    )


def test_scheduling_gates_and_unschedulable_nodes(cluster: Any) -> None:
    _, core = cluster
    core.create_namespaced_pod("default", gpu_pod("gated", 1, schedulingGates=[{"name": "podium.dev/wait"}]))
    core.create_namespaced_pod("default", gpu_pod("control", 1))
    wait_for(lambda: node_of(core, "control"), what="control pod bound")
    assert node_of(core, "gated") is None
    core.patch_namespaced_pod("gated", "default", {"spec": {"schedulingGates": None}})
    assert wait_for(lambda: node_of(core, "gated"), what="gate removed -> bound")


def test_filters_pure() -> None:
    assert tolerates([{"operator": "Exists"}], {"key": "a", "effect": "NoSchedule"})
    assert tolerates(
        [{"key": "a", "value": "x", "effect": "NoSchedule"}],
        {"key": "a", "value": "x", "effect": "NoSchedule"},
    )
    assert not tolerates([{"key": "a", "value": "y"}], {"key": "a", "value": "x", "effect": "NoSchedule"})
    assert not tolerates(
        [{"key": "a", "operator": "Exists", "effect": "NoExecute"}], {"key": "a", "effect": "NoSchedule"}
    )
    node = {"metadata": {"name": "n1", "labels": {"zone": "a", "gpu": "8"}}}

    def expr(*e: dict[str, Any]) -> dict[str, Any]:
        required = {"nodeSelectorTerms": [{"matchExpressions": list(e)}]}
        return {
            "spec": {
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
            }
        }

    assert matches_node(expr({"key": "zone", "operator": "In", "values": ["a", "b"]}), node)
    assert not matches_node(expr({"key": "zone", "operator": "NotIn", "values": ["a"]}), node)
    assert matches_node(
        expr({"key": "gpu", "operator": "Exists"}, {"key": "x", "operator": "DoesNotExist"}), node
    )
    assert matches_node(expr({"key": "gpu", "operator": "Gt", "values": ["4"]}), node)
    assert not matches_node({"spec": {"nodeSelector": {"zone": "b"}}}, node)
    assert fit_error(
        5, {"Insufficient nvidia.com/gpu": 3, "node(s) didn't match Pod's node affinity/selector": 2}
    ) == (
        "0/5 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
        "3 Insufficient nvidia.com/gpu."
    )


def test_pods_of_a_deleted_node_are_garbage_collected_and_replaced(cluster: Any) -> None:
    _, core = cluster
    apps = client.AppsV1Api(core.api_client)
    apps.create_namespaced_deployment(
        "default",
        {
            "metadata": {"name": "svc"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "svc"}},
                "template": {
                    "metadata": {"labels": {"app": "svc"}},
                    "spec": {
                        "nodeSelector": {"node.kubernetes.io/instance-type": "ml.g5.12xlarge"},
                        "containers": [
                            {"name": "c", "image": "nginx", "resources": {"limits": {"nvidia.com/gpu": "4"}}}
                        ],
                    },
                },
            },
        },
    )

    def placed() -> dict[str, str] | None:
        pods = core.list_namespaced_pod("default", label_selector="app=svc").items
        bound = {
            p.metadata.name: p.spec.node_name
            for p in pods
            if p.spec.node_name and not p.metadata.deletion_timestamp
        }
        return bound if len(bound) == 2 else None

    before = wait_for(placed, what="two pods on the two g5 nodes")
    victim_pod, victim_node = sorted(before.items())[0]
    core.delete_node(victim_node)

    def replaced() -> bool:
        pods = core.list_namespaced_pod("default", label_selector="app=svc").items
        names = {p.metadata.name for p in pods}
        pending = [p for p in pods if not p.spec.node_name]
        return victim_pod not in names and len(pods) == 2 and len(pending) == 1

    # The replacement has nowhere to go: the only other g5 node is full.
    wait_for(replaced, what="orphaned pod removed and replaced")
