"""GPU fit arithmetic on node and pod dicts (deploys and training jobs): can one replica fit anywhere, and
is there room for all now?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium_shared.errors import Invalid

GPU = "nvidia.com/gpu"


def _gpus(value: Any) -> int:
    try:
        return int(str(value or "0"))
    except ValueError:
        return 0


def _node_usable(node: dict[str, Any]) -> bool:
    spec = node.get("spec") or {}
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return ready and not spec.get("unschedulable")


def free_gpus(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """node name → (allocatable, free) GPUs, counting requests of pods that still hold their GPUs."""
    used: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for c in spec.get("containers") or []:
            requests = (c.get("resources") or {}).get("requests") or {}
            used[node] = used.get(node, 0) + _gpus(requests.get(GPU))
    out: dict[str, tuple[int, int]] = {}
    for node in nodes:
        name = str((node.get("metadata") or {}).get("name"))
        allocatable = _gpus(((node.get("status") or {}).get("allocatable") or {}).get(GPU))
        out[name] = (allocatable, max(0, allocatable - used.get(name, 0)))
    return out


@dataclass(frozen=True)
class NodeGpus:
    """One node as the fit check sees it, from the cluster (worker) or the watcher's snapshot (API)."""

    name: str
    labels: dict[str, str]
    usable: bool  # Ready and schedulable
    allocatable: int
    free: int


def check_fit(
    *,
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    gpus_per_replica: int,
    replicas: int,
    node_selector: dict[str, str],
) -> list[str]:
    """The worker-side check on node and pod objects read from the cluster."""
    per_node = free_gpus(nodes, pods)
    views = []
    for n in nodes:
        meta = n.get("metadata") or {}
        allocatable, free = per_node[str(meta.get("name"))]
        views.append(
            NodeGpus(
                str(meta.get("name")), dict(meta.get("labels") or {}), _node_usable(n), allocatable, free
            )
        )
    return judge_fit(views, gpus_per_replica=gpus_per_replica, replicas=replicas, node_selector=node_selector)


def judge_fit(
    nodes: list[NodeGpus], *, gpus_per_replica: int, replicas: int, node_selector: dict[str, str]
) -> list[str]:
    """Raise Invalid when no node could ever hold one replica; return warnings when all replicas will not
    fit in what is free now (they would stay Pending until capacity frees up)."""
    if gpus_per_replica <= 0 or replicas <= 0:
        return []
    eligible = [n for n in nodes if n.usable and all(n.labels.get(k) == v for k, v in node_selector.items())]
    largest = max((n.allocatable for n in eligible), default=0)
    if gpus_per_replica > largest:
        where = f" matching {node_selector}" if node_selector else ""
        raise Invalid(
            f"a replica needs {gpus_per_replica} GPUs but the largest ready node{where} "
            f"has {largest} allocatable",
            code="does_not_fit",
            details={"gpus_per_replica": gpus_per_replica, "largest_node_gpus": largest},
        )
    slots = sum(n.free // gpus_per_replica for n in eligible)
    if slots < replicas:
        return [
            f"only {slots} of {replicas} replicas fit in the GPUs free now "
            f"({gpus_per_replica} per replica); the rest stay Pending until GPUs free up"
        ]
    return []
