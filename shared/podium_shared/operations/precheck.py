"""Accept-time checks against the watcher's snapshot: what a kind's `precheck` is given.

A precheck refuses (raises `Invalid`, 422) what can never work and returns warnings for what may not work
now. It reads only the snapshot in Redis (never the cluster: the API does not call Kubernetes per
request), so it can be stale; the worker repeats the check against the cluster and stays the safety net.
No snapshot (no watcher has streamed the cluster yet, or Redis is unreachable) means no check, with a
warning saying so."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from podium_shared.cluster_state.capacity import NodeGpus, judge_fit
from podium_shared.cluster_state.reads import MAX_LIMIT, list_objects
from podium_shared.cluster_state.status import ClusterStatus, read_cluster_status
from podium_shared.kube.gpu import holds_resources, pod_gpus

log = logging.getLogger(__name__)

# Where accept-time warnings live in an operation's `result` (the runner keeps the key when it finishes).
ACCEPT_WARNINGS = "accept_warnings"

NO_SNAPSHOT_WARNING = (
    "no snapshot of cluster {cluster!r} yet (is a watcher running?); the capacity check runs when the "
    "operation executes"
)


class SnapshotMissing(Exception):
    """The snapshot cannot be read; the caller skips its check and warns."""


@dataclass
class PrecheckContext:
    cluster: str
    redis: Any | None  # the API's Redis client; None where no snapshot is reachable
    _status: ClusterStatus | None = field(default=None, init=False, repr=False)

    def cluster_status(self) -> ClusterStatus:
        """Per-node GPU allocatable/free (the watcher's arithmetic). Raises SnapshotMissing."""
        if self._status is None:
            if self.redis is None:
                raise SnapshotMissing
            try:
                status = read_cluster_status(self.redis, self.cluster)
            except RedisError as exc:
                log.warning("snapshot of %s unreadable for a precheck: %s", self.cluster, exc)
                raise SnapshotMissing from exc
            if status.snapshot_age_seconds is None:
                raise SnapshotMissing
            self._status = status
        return self._status

    def node_labels(self) -> dict[str, dict[str, str]]:
        """node name → labels, from the snapshot's node objects (all pages)."""
        if self.redis is None:
            raise SnapshotMissing
        out: dict[str, dict[str, str]] = {}
        token: str | None = None
        try:
            while True:
                page = list_objects(self.redis, self.cluster, "nodes", limit=MAX_LIMIT, continue_token=token)
                for item in page.items:
                    out[str(item["name"])] = dict(item.get("labels") or {})
                token = page.continue_
                if token is None:
                    return out
        except RedisError as exc:
            raise SnapshotMissing from exc

    def pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """Pod objects in `namespace` matching `label_selector`, from the snapshot (all pages)."""
        if self.redis is None:
            raise SnapshotMissing
        out: list[dict[str, Any]] = []
        token: str | None = None
        try:
            while True:
                page = list_objects(
                    self.redis, self.cluster, "pods", namespace=namespace,
                    label_selector=label_selector, limit=MAX_LIMIT, continue_token=token,
                )  # fmt: skip
                out.extend(item["object"] for item in page.items)
                token = page.continue_
                if token is None:
                    return out
        except RedisError as exc:
            raise SnapshotMissing from exc

    def no_snapshot_warning(self) -> str:
        return NO_SNAPSHOT_WARNING.format(cluster=self.cluster)


def gpu_fit(
    ctx: PrecheckContext,
    *,
    namespace: str,
    own_pods: str,
    gpus_per_replica: int,
    replicas: int,
    node_selector: dict[str, str],
) -> list[str]:
    """The GPU check every GPU-requesting kind shares (deploys, training jobs), on the snapshot: raises
    Invalid when one replica can never fit, returns warnings when all will not fit now. `own_pods` is the
    label selector of the workload's own pods: a resubmission gets their GPUs back, so they do not count."""
    if gpus_per_replica <= 0 or replicas <= 0:
        return []
    status = ctx.cluster_status()  # SnapshotMissing: the service skips the check and warns
    labels = ctx.node_labels()
    own: dict[str, int] = {}
    for pod in ctx.pods(namespace, own_pods):
        node = (pod.get("spec") or {}).get("nodeName")
        if node and holds_resources(pod):
            own[node] = own.get(node, 0) + pod_gpus(pod)
    nodes = [
        NodeGpus(
            name=n.name,
            labels=labels.get(n.name, {}),
            usable=n.ready and not n.unschedulable,
            allocatable=n.gpu_allocatable,
            free=min(n.gpu_allocatable, n.gpu_free + own.get(n.name, 0)),
        )
        for n in status.nodes
    ]
    warnings = judge_fit(
        nodes, gpus_per_replica=gpus_per_replica, replicas=replicas, node_selector=node_selector
    )
    if warnings and status.snapshot_age_seconds is not None and status.snapshot_age_seconds > 30:
        warnings.append(f"the capacity figures are {status.snapshot_age_seconds:.0f} s old")
    return warnings
