"""GPU requests of a pod, counted the way the scheduler counts (see cluster_state/status.py for the rules).

Pure functions of a pod object; the watcher also uses them to keep a compact per-pod summary next to
the snapshot, so the cluster status never has to decode every pod."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from podium_shared.kube.quantity import parse_quantity

GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
TERMINATED_PHASES = frozenset({"Succeeded", "Failed"})


def _container_request(container: Mapping[str, Any], resource: str) -> Decimal:
    res = container.get("resources") or {}
    requests = res.get("requests") or {}
    if resource in requests:
        return parse_quantity(requests[resource])
    return parse_quantity((res.get("limits") or {}).get(resource))


def pod_request(pod: Mapping[str, Any], resource: str) -> Decimal:
    spec = pod.get("spec") or {}
    app = sum((_container_request(c, resource) for c in spec.get("containers") or []), Decimal(0))
    init = max(
        (_container_request(c, resource) for c in spec.get("initContainers") or []), default=Decimal(0)
    )
    return max(app, init)


def pod_gpus(pod: Mapping[str, Any]) -> int:
    return int(sum((pod_request(pod, r) for r in GPU_RESOURCES), Decimal(0)))


def holds_resources(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in TERMINATED_PHASES


def pod_summary(pod: Mapping[str, Any]) -> dict[str, Any]:
    """What the cluster status needs of a pod: node, phase and GPUs (a few bytes instead of kilobytes)."""
    return {
        "node": (pod.get("spec") or {}).get("nodeName"),
        "phase": (pod.get("status") or {}).get("phase"),
        "gpus": pod_gpus(pod),
    }


INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
NODE_GROUP_LABELS = (
    ("eks", "eks.amazonaws.com/nodegroup"),
    ("hyperpod", "sagemaker.amazonaws.com/instance-group-name"),
)


def resource_gpus(resources: Mapping[str, Any] | None) -> int:
    resources = resources or {}
    return int(sum((parse_quantity(resources.get(r)) for r in GPU_RESOURCES), Decimal(0)))


def _ready(node: Mapping[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def node_summary(node: Mapping[str, Any]) -> dict[str, Any]:
    """What the cluster status needs of a node: its row without the pods' use (kept next to the snapshot,
    so a status read decodes a few hundred bytes per node instead of the whole object)."""
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = node.get("status") or {}
    group_kind, group = next(
        ((k, labels[label]) for k, label in NODE_GROUP_LABELS if label in labels), (None, None)
    )
    return {
        "name": meta.get("name", ""),
        "instance_type": next((labels[label] for label in INSTANCE_TYPE_LABELS if label in labels), None),
        "node_group": group,
        "node_group_kind": group_kind,
        "ready": _ready(node),
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        "gpu_capacity": resource_gpus(status.get("capacity")),
        "gpu_allocatable": resource_gpus(status.get("allocatable")),
    }


def pod_contribution(summary: Mapping[str, Any]) -> tuple[str | None, int, int]:
    """(node or None for unscheduled, GPUs, pods) a pod summary adds to the cluster status: bound pods count
    against their node while Pending or Running; unbound ones count as unscheduled demand; finished pods
    hold nothing. The watcher's Lua script (realtime/state.py) applies the same rule incrementally."""
    if summary.get("phase") in TERMINATED_PHASES:
        return None, 0, 0
    gpus = int(summary.get("gpus") or 0)
    node = summary.get("node")
    if node:
        return str(node), gpus, 1
    return None, gpus, 0
