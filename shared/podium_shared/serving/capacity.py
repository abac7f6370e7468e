"""Pre-deploy GPU check on node and pod dicts: can one replica fit anywhere, and is there room for all now?"""

from __future__ import annotations

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


def _matches(node: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


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


def check_fit(
    *,
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    gpus_per_replica: int,
    replicas: int,
    node_selector: dict[str, str],
) -> list[str]:
    """Raise Invalid when no node could ever hold one replica; return warnings when all replicas will not
    fit in what is free now (they would stay Pending until capacity frees up)."""
    if gpus_per_replica <= 0 or replicas <= 0:
        return []
    eligible = [n for n in nodes if _node_usable(n) and _matches(n, node_selector)]
    per_node = free_gpus(eligible, pods)
    largest = max((a for a, _ in per_node.values()), default=0)
    if gpus_per_replica > largest:
        where = f" matching {node_selector}" if node_selector else ""
        raise Invalid(
            f"a replica needs {gpus_per_replica} GPUs but the largest ready node{where} "
            f"has {largest} allocatable",
            code="does_not_fit",
            details={"gpus_per_replica": gpus_per_replica, "largest_node_gpus": largest},
        )
    slots = sum(free // gpus_per_replica for _, free in per_node.values())
    if slots < replicas:
        return [
            f"only {slots} of {replicas} replicas fit in the GPUs free now "
            f"({gpus_per_replica} per replica); the rest stay Pending until GPUs free up"
        ]
    return []
