"""What the (emulated) cloud says the cluster's capacity is: EKS node groups and HyperPod instance groups,
read with boto3 through a configured endpoint, as a cloud controller reads its provider's API.

`CloudConfig` is kubesim's side of the setting (flags / `KUBESIM_*` environment); `CloudSource.fetch()`
returns one `GroupSpec` per group, blocking (the controller runs it in a worker thread).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger("podium_kubesim.controllers.cloud")

EKS = "eks"
HYPERPOD = "hyperpod"

# EKS spells taint effects in upper snake case; Kubernetes nodes carry them in camel case.
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# (an unknown effect is dropped by `scenario_entry` rather than guessed)
# Node-group states in which the group's instances are (being) torn down.
_GOING = {"DELETING", "DELETE_FAILED", "CREATE_FAILED"}
# HyperPod instance states whose instances are Kubernetes nodes (Pending ones have not joined yet).
_RUNNING = {"Running"}


@dataclass(frozen=True)
class CloudConfig:
    """Where kubesim reads its capacity from; the controller runs only when a cluster name is given."""

    eks_cluster: str | None = None
    hyperpod_cluster: str | None = None
    region: str | None = None  # default: the scenario's region
    endpoint_url: str | None = None  # default: botocore's own (AWS_ENDPOINT_URL, then AWS)
    poll_seconds: float = 2.0  # real seconds between reads of the cloud API
    join_seconds: float = 30.0  # simulated seconds from an instance launching to its node joining

    @property
    def enabled(self) -> bool:
        return bool(self.eks_cluster or self.hyperpod_cluster)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> CloudConfig:
        """`KUBESIM_EKS_CLUSTER`, `KUBESIM_HYPERPOD_CLUSTER`, `KUBESIM_AWS_REGION`,
        `KUBESIM_AWS_ENDPOINT_URL`, `KUBESIM_CLOUD_POLL_SECONDS`, `KUBESIM_NODE_JOIN_SECONDS`; a non-None
        keyword (a command-line flag) wins over the variable."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {
            "eks_cluster": env.get("KUBESIM_EKS_CLUSTER") or None,
            "hyperpod_cluster": env.get("KUBESIM_HYPERPOD_CLUSTER") or None,
            "region": env.get("KUBESIM_AWS_REGION") or None,
            "endpoint_url": env.get("KUBESIM_AWS_ENDPOINT_URL") or None,
        }
        if env.get("KUBESIM_CLOUD_POLL_SECONDS"):
            values["poll_seconds"] = float(env["KUBESIM_CLOUD_POLL_SECONDS"])
        if env.get("KUBESIM_NODE_JOIN_SECONDS"):
            values["join_seconds"] = float(env["KUBESIM_NODE_JOIN_SECONDS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class GroupSpec:
    """One group as the cloud describes it. `instance_ids` is set for HyperPod (each instance is a
    named node, `hyperpod-<id>`); an EKS group is a count of interchangeable instances."""

    kind: str  # EKS or HYPERPOD
    name: str
    instance_type: str
    count: int
    cluster: str
    instance_ids: tuple[str, ...] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, Kubernetes effect)
    capacity_type: str = "ON_DEMAND"

    def scenario_entry(self) -> dict[str, Any]:
        """The group as a scenario `nodeGroups` entry (what `build_node_group` takes)."""
        entry: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "instanceType": self.instance_type,
            "capacityType": self.capacity_type,
            "labels": dict(self.labels),
            "taints": [{"key": k, "value": v, "effect": e} for k, v, e in self.taints if e],
        }
        if self.kind == HYPERPOD:
            entry["clusterName"] = self.cluster
        return entry


class CloudSource:
    def __init__(self, config: CloudConfig, region: str) -> None:
        self.config = config
        self.region = config.region or region
        options: dict[str, Any] = {
            "region_name": self.region,
            "config": Config(
                retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10
            ),
        }
        if config.endpoint_url:
            options["endpoint_url"] = config.endpoint_url
            # An emulator accepts any key; without one in the environment botocore would refuse to sign
            # (and first probe the instance-metadata service for seconds).
            if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
                options["aws_access_key_id"] = "kubesim"
                options["aws_secret_access_key"] = "kubesim"  # noqa: S105 - an emulator's placeholder
        self._eks = boto3.client("eks", **options) if config.eks_cluster else None
        self._sagemaker = boto3.client("sagemaker", **options) if config.hyperpod_cluster else None

    def fetch(self) -> list[GroupSpec]:
        """Every group of the configured clusters; a cluster that does not exist has none. Other errors
        (the endpoint down, throttling past the retries) raise, and the caller keeps what it had."""
        groups: list[GroupSpec] = []
        if self._eks is not None and self.config.eks_cluster:
            groups += self._eks_groups(self._eks, self.config.eks_cluster)
        if self._sagemaker is not None and self.config.hyperpod_cluster:
            groups += self._hyperpod_groups(self._sagemaker, self.config.hyperpod_cluster)
        return groups

    @staticmethod
    def _eks_groups(eks: Any, cluster: str) -> list[GroupSpec]:
        try:
            pages = eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
            names = [n for page in pages for n in page.get("nodegroups", [])]
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return []
            raise
        groups = []
        for name in names:
            try:
                ng = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            except ClientError as exc:
                if _code(exc) == "ResourceNotFoundException":  # deleted between the list and the read
                    continue
                raise
            scaling = ng.get("scalingConfig") or {}
            count = 0 if ng.get("status") in _GOING else int(scaling.get("desiredSize") or 0)
            taints = tuple(
                (str(t.get("key") or ""), str(t.get("value") or ""), _EFFECTS.get(str(t.get("effect")), ""))
                for t in ng.get("taints") or []
            )
            groups.append(
                GroupSpec(
                    kind=EKS,
                    name=name,
                    instance_type=str((ng.get("instanceTypes") or ["m5.large"])[0]),
                    count=count,
                    cluster=cluster,
                    labels={str(k): str(v) for k, v in (ng.get("labels") or {}).items()},
                    taints=taints,
                    capacity_type=str(ng.get("capacityType") or "ON_DEMAND"),
                )
            )
        return groups

    @staticmethod
    def _hyperpod_groups(sagemaker: Any, cluster: str) -> list[GroupSpec]:
        try:
            described = sagemaker.describe_cluster(ClusterName=cluster)
            nodes = [
                n
                for page in sagemaker.get_paginator("list_cluster_nodes").paginate(ClusterName=cluster)
                for n in page.get("ClusterNodeSummaries", [])
            ]
        except ClientError as exc:
            # SageMaker answers a missing cluster with a ValidationException or ResourceNotFound.
            if _code(exc) in ("ResourceNotFound", "ResourceNotFoundException") or (
                _code(exc) == "ValidationException" and "not find" in str(exc)
            ):
                return []
            raise
        if described.get("ClusterStatus") == "Deleting":
            return []
        ids: dict[str, list[str]] = {}
        for n in nodes:
            if (n.get("InstanceStatus") or {}).get("Status") in _RUNNING:
                ids.setdefault(str(n.get("InstanceGroupName")), []).append(str(n["InstanceId"]))
        groups = []
        for g in described.get("InstanceGroups") or []:
            name = str(g["InstanceGroupName"])
            members = tuple(sorted(ids.get(name, [])))
            groups.append(
                GroupSpec(
                    kind=HYPERPOD,
                    name=name,
                    instance_type=str(g.get("InstanceType") or ""),
                    count=len(members),
                    cluster=cluster,
                    instance_ids=members,
                )
            )
        return groups


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
