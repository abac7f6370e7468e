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
