"""The GPU status of a cluster, computed from the snapshot the way the scheduler counts.

A pod's request of a resource is the larger of (a) the sum over its app containers and (b) the largest
single init container (init containers run one at a time, before the app containers). For extended
resources such as GPUs a limit without a request implies an equal request. Pods count against the node
they are bound to while Pending or Running; Succeeded and Failed pods hold nothing."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from podium_shared.kube.gpu import GPU_RESOURCES, TERMINATED_PHASES, pod_summary
from podium_shared.kube.quantity import parse_quantity
from podium_shared.realtime.keys import meta_key, state_key, summary_key
from podium_shared.realtime.state import decode_hash

INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
NODE_GROUP_LABELS = (
    ("eks", "eks.amazonaws.com/nodegroup"),
    ("hyperpod", "sagemaker.amazonaws.com/instance-group-name"),
)


def _gpus(resources: Mapping[str, Any] | None) -> int:
    resources = resources or {}
    return int(sum((parse_quantity(resources.get(r)) for r in GPU_RESOURCES), Decimal(0)))


def _ready(node: Mapping[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


class NodeStatus(BaseModel):
    name: str
    instance_type: str | None
    node_group: str | None
    node_group_kind: str | None  # "eks" | "hyperpod"
    ready: bool
    unschedulable: bool
    gpu_capacity: int
    gpu_allocatable: int
    gpu_requested: int
    gpu_free: int
    pods: int


class ClusterTotals(BaseModel):
    nodes: int
    ready_nodes: int
    gpu_capacity: int
    gpu_allocatable: int
    gpu_requested: int
    gpu_free: int
    gpu_pending_unscheduled: int  # requested by pods no node has taken yet


class ClusterStatus(BaseModel):
    cluster: str
    snapshot_age_seconds: float | None
    nodes: list[NodeStatus]
    totals: ClusterTotals


def node_status(node: Mapping[str, Any], pods_on_node: Iterable[Mapping[str, Any]]) -> NodeStatus:
    """`pods_on_node` are pod summaries (`gpu.pod_summary`) of the pods bound to this node."""
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = node.get("status") or {}
    group_kind, group = next(
        ((k, labels[label]) for k, label in NODE_GROUP_LABELS if label in labels), (None, None)
    )
    active = [p for p in pods_on_node if p.get("phase") not in TERMINATED_PHASES]
    allocatable = _gpus(status.get("allocatable"))
    requested = sum(int(p.get("gpus") or 0) for p in active)
    return NodeStatus(
        name=meta.get("name", ""),
        instance_type=next((labels[label] for label in INSTANCE_TYPE_LABELS if label in labels), None),
        node_group=group,
        node_group_kind=group_kind,
        ready=_ready(node),
        unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
        gpu_capacity=_gpus(status.get("capacity")),
        gpu_allocatable=allocatable,
        gpu_requested=requested,
        gpu_free=max(0, allocatable - requested),
        pods=len(active),
    )


def status_from_summaries(
    cluster: str, nodes: list[dict[str, Any]], pods: Iterable[Mapping[str, Any]], snapshot_age: float | None
) -> ClusterStatus:
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    unscheduled = 0
    for pod in pods:
        if pod.get("node"):
            by_node.setdefault(str(pod["node"]), []).append(pod)
        elif pod.get("phase") not in TERMINATED_PHASES:
            unscheduled += int(pod.get("gpus") or 0)
    rows = [node_status(n, by_node.get((n.get("metadata") or {}).get("name", ""), [])) for n in nodes]
    rows.sort(key=lambda r: r.name)
    totals = ClusterTotals(
        nodes=len(rows),
        ready_nodes=sum(r.ready for r in rows),
        gpu_capacity=sum(r.gpu_capacity for r in rows),
        gpu_allocatable=sum(r.gpu_allocatable for r in rows),
        gpu_requested=sum(r.gpu_requested for r in rows),
        gpu_free=sum(r.gpu_free for r in rows),
        gpu_pending_unscheduled=unscheduled,
    )
    return ClusterStatus(cluster=cluster, snapshot_age_seconds=snapshot_age, nodes=rows, totals=totals)


def cluster_status(
    cluster: str, nodes: list[dict[str, Any]], pods: list[dict[str, Any]], snapshot_age: float | None
) -> ClusterStatus:
    return status_from_summaries(cluster, nodes, (pod_summary(p) for p in pods), snapshot_age)


def read_cluster_status(redis: Any, cluster: str) -> ClusterStatus:
    """Nodes, the pods' GPU summaries and the snapshot's age in one round trip (one MULTI)."""
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(state_key(cluster, "nodes"))
    pipe.hgetall(summary_key(cluster, "pods"))
    pipe.hget(meta_key(cluster), "fresh_at")
    nodes, pods, fresh = pipe.execute()
    age = None if fresh is None else max(0.0, time.time() - float(fresh))
    return status_from_summaries(cluster, decode_hash(nodes), decode_hash(pods), age)
