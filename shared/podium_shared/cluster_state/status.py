"""The GPU status of a cluster, computed from the snapshot the way the scheduler counts.

A pod's request of a resource is the larger of (a) the sum over its app containers and (b) the largest
single init container (init containers run one at a time, before the app containers). For extended
resources such as GPUs a limit without a request implies an equal request. Pods count against the node
they are bound to while Pending or Running; Succeeded and Failed pods hold nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel

from podium_shared.kube.gpu import TERMINATED_PHASES, node_summary, pod_contribution, pod_summary
from podium_shared.realtime.keys import AGGREGATES_VERSION, gpu_key, meta_key, state_key, summary_key
from podium_shared.realtime.state import decode_hash


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
    requested = pods = 0
    for p in pods_on_node:
        _, gpus, count = pod_contribution(p)
        requested += gpus
        pods += count
    return NodeStatus.model_validate(_row(node_summary(node), requested, pods))


def _row(summary: Mapping[str, Any], requested: int, pods: int) -> dict[str, Any]:
    allocatable = int(summary["gpu_allocatable"])
    return {
        **summary,
        "gpu_requested": requested,
        "gpu_free": max(0, allocatable - requested),
        "pods": pods,
    }


def _totals(rows: list[dict[str, Any]], unscheduled: int) -> dict[str, int]:
    return {
        "nodes": len(rows),
        "ready_nodes": sum(bool(r["ready"]) for r in rows),
        "gpu_capacity": sum(r["gpu_capacity"] for r in rows),
        "gpu_allocatable": sum(r["gpu_allocatable"] for r in rows),
        "gpu_requested": sum(r["gpu_requested"] for r in rows),
        "gpu_free": sum(r["gpu_free"] for r in rows),
        "gpu_pending_unscheduled": unscheduled,
    }


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
    rows = [
        node_status(n, by_node.get((n.get("metadata") or {}).get("name", ""), [])).model_dump() for n in nodes
    ]
    rows.sort(key=lambda r: str(r["name"]))
    return ClusterStatus.model_validate({
        "cluster": cluster, "snapshot_age_seconds": snapshot_age, "nodes": rows,
        "totals": _totals(rows, unscheduled),
    })  # fmt: skip


def cluster_status(
    cluster: str, nodes: list[dict[str, Any]], pods: list[dict[str, Any]], snapshot_age: float | None
) -> ClusterStatus:
    return status_from_summaries(cluster, nodes, (pod_summary(p) for p in pods), snapshot_age)


def read_cluster_status(redis: Any, cluster: str) -> ClusterStatus:
    return ClusterStatus.model_validate(read_status_document(redis, cluster))


class _Documents:
    """Per process: each cluster's last status document (rows and totals, without the age) and the
    `status_version` it was read at. The watcher bumps that number in the same script that changes a node
    or pod summary (realtime/state.py), so a reader that finds it unchanged may answer from memory."""

    lock = threading.Lock()
    by_cluster: dict[str, tuple[bytes, dict[str, Any]]] = {}


def read_status_document(redis: Any, cluster: str) -> dict[str, Any]:
    """The status as plain JSON types, shaped like `ClusterStatus` (the API sends it without building a
    model: validating and re-serialising a thousand rows cost more than reading them). Unchanged since
    this process last built it (same `status_version`): one round trip for the version and the age. Else
    one MULTI: the node summaries and the per-node GPU aggregates the watcher keeps current
    (realtime/state.py), the snapshot's age and version. A snapshot whose aggregates were not built by
    this version (its watcher has not started a term since the upgrade) is computed from every pod's
    summary instead, as before."""
    fresh, version, status_version = redis.hmget(
        meta_key(cluster), ["fresh_at", "aggregates", "status_version"]
    )
    with _Documents.lock:
        cached = _Documents.by_cluster.get(cluster)
    if cached is not None and status_version is not None and cached[0] == status_version:
        return {**cached[1], "snapshot_age_seconds": _age(fresh)}
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(summary_key(cluster, "nodes"))
    pipe.hgetall(gpu_key(cluster))
    pipe.hmget(meta_key(cluster), ["fresh_at", "aggregates", "status_version"])
    nodes, agg, (fresh, version, status_version) = pipe.execute()
    age = _age(fresh)
    if version != AGGREGATES_VERSION.encode():
        return status_from_every_pod(redis, cluster, age).model_dump()
    document = _document(cluster, nodes, agg)
    if status_version is not None:
        with _Documents.lock:
            _Documents.by_cluster[cluster] = (status_version, document)
    return {**document, "snapshot_age_seconds": age}


def _age(fresh: bytes | None) -> float | None:
    return None if fresh is None else max(0.0, time.time() - float(fresh))


def _document(cluster: str, nodes: dict[bytes, bytes], agg: dict[bytes, bytes]) -> dict[str, Any]:
    rows = orjson.loads(b"[" + b",".join(nodes[k] for k in sorted(nodes)) + b"]")
    ready = capacity = allocatable = requested = free = 0
    for row in rows:
        name = row["name"].encode()
        row["gpu_requested"] = req = int(agg.get(b"req:" + name, 0))
        row["pods"] = int(agg.get(b"pods:" + name, 0))
        row["gpu_free"] = row_free = max(0, row["gpu_allocatable"] - req)
        ready += row["ready"]
        capacity += row["gpu_capacity"]
        allocatable += row["gpu_allocatable"]
        requested += req
        free += row_free
    totals = {
        "nodes": len(rows), "ready_nodes": ready, "gpu_capacity": capacity, "gpu_allocatable": allocatable,
        "gpu_requested": requested, "gpu_free": free,
        "gpu_pending_unscheduled": int(agg.get(b"unscheduled", 0)),
    }  # fmt: skip
    return {"cluster": cluster, "snapshot_age_seconds": None, "nodes": rows, "totals": totals}


def status_from_every_pod(redis: Any, cluster: str, age: float | None) -> ClusterStatus:
    """The status computed from every pod's summary (the way before the aggregates; bench baseline)."""
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(state_key(cluster, "nodes"))
    pipe.hgetall(summary_key(cluster, "pods"))
    nodes, pods = pipe.execute()
    return status_from_summaries(cluster, decode_hash(nodes), decode_hash(pods), age)
