"""The Kubernetes resources the watcher mirrors into Redis, and the WebSocket topics that carry them.
Paths are built by kube/resources.py, like every other Kubernetes path Podium calls."""

from __future__ import annotations

from dataclasses import dataclass

from podium_shared.kube.resources import api_version_of, group_version_path


@dataclass(frozen=True)
class WatchedResource:
    name: str  # plural; also the Redis state kind and the stream topic
    kind: str
    group: str  # "" for the core group
    version: str
    custom: bool = False  # a CRD: watched only where the cluster serves it

    @property
    def api_version(self) -> str:
        return api_version_of(self.group, self.version)

    @property
    def group_path(self) -> str:
        return group_version_path(self.group, self.version)

    @property
    def path(self) -> str:
        """The all-namespaces collection (or the cluster-scoped one) — one watch per cluster and kind."""
        return f"{self.group_path}/{self.name}"


WATCHED: tuple[WatchedResource, ...] = (
    WatchedResource("nodes", "Node", "", "v1"),
    WatchedResource("pods", "Pod", "", "v1"),
    WatchedResource("services", "Service", "", "v1"),
    WatchedResource("endpoints", "Endpoints", "", "v1"),
    WatchedResource("deployments", "Deployment", "apps", "v1"),
    WatchedResource("replicasets", "ReplicaSet", "apps", "v1"),
    WatchedResource("jobs", "Job", "batch", "v1"),
    WatchedResource("pytorchjobs", "PyTorchJob", "kubeflow.org", "v1", custom=True),
    WatchedResource(
        "hyperpodpytorchjobs", "HyperPodPyTorchJob", "sagemaker.amazonaws.com", "v1", custom=True
    ),
    WatchedResource("events", "Event", "", "v1"),
    # S3 CSI volumes: the storage browser finds the buckets behind a cluster here (infra/storage.py).
    WatchedResource("persistentvolumes", "PersistentVolume", "", "v1"),
)

BY_NAME = {r.name: r for r in WATCHED}

# Training jobs are two CRDs; readers and subscribers ask for them under one name.
TRAINING_KINDS = ("pytorchjobs", "hyperpodpytorchjobs")

# What a WebSocket subscription may name: every watched kind, the training-job alias, and operations
# (published by the operation pipeline into the same stream).
TOPICS: dict[str, tuple[str, ...]] = {r.name: (r.name,) for r in WATCHED}
TOPICS["trainingjobs"] = TRAINING_KINDS
TOPICS["operations"] = ("operations",)
TOPICS["operation_logs"] = ("operation_logs",)
# Topics published by the operation pipeline, not the watcher: no snapshot in Redis (Postgres has them).
OPERATION_TOPICS = frozenset({"operations", "operation_logs"})
