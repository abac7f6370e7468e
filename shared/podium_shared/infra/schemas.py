"""Params of the infrastructure command kinds (validated at accept time: a broken rule is a 422 naming
it) and the shapes the reads return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NODEGROUP_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
INSTANCE_GROUP_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
ROLE_ARN = r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"
INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"
SUBNET = r"^subnet-[0-9a-f]{8,17}$"


class Scaling(BaseModel):
    """Node-group sizes: 0 <= min <= desired <= max and max >= 1 (EKS's own rules)."""

    model_config = ConfigDict(extra="forbid")

    min: int = Field(ge=0, le=1000)
    max: int = Field(ge=0, le=1000)
    desired: int = Field(ge=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Scaling:
        if self.max < 1:
            raise ValueError(f"max must be at least 1 (got {self.max})")
        if self.min > self.max:
            raise ValueError(f"min must not exceed max (min {self.min} > max {self.max})")
        if not self.min <= self.desired <= self.max:
            raise ValueError(
                f"desired must lie between min and max (min {self.min} <= desired {self.desired}"
                f" <= max {self.max} does not hold)"
            )
        return self


class ScaleNodegroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodegroup: str = Field(pattern=NODEGROUP_NAME)
    min: int = Field(ge=0, le=1000)
    max: int = Field(ge=0, le=1000)
    desired: int = Field(ge=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> ScaleNodegroupParams:
        Scaling(min=self.min, max=self.max, desired=self.desired)
        return self


class Taint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=63)
    value: str | None = Field(None, max_length=63)
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]


class CreateNodegroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NODEGROUP_NAME)
    instance_types: list[str] = Field(min_length=1, max_length=20)
    capacity_type: Literal["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"] = "ON_DEMAND"
    # None: a GPU AMI for GPU instance types, a Neuron AMI for Trainium/Inferentia, standard otherwise.
    ami_type: str | None = Field(None, pattern=r"^[A-Z0-9_]{3,40}$")
    # None: the subnets of the EKS cluster.
    subnets: list[str] | None = Field(None, min_length=1, max_length=16)
    # None: the node role of an existing node group of the cluster.
    node_role: str | None = Field(None, pattern=ROLE_ARN)
    disk_size: int = Field(100, ge=20, le=16384)
    scaling: Scaling = Field(default_factory=lambda: Scaling(min=0, max=1, desired=1))
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    taints: list[Taint] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> CreateNodegroupParams:
        import re  # noqa: PLC0415 - only here

        for t in self.instance_types:
            if not re.match(INSTANCE_TYPE, t):
                raise ValueError(f"instance type {t!r} is not of the form family.size (e.g. g5.2xlarge)")
        for s in self.subnets or []:
            if not re.match(SUBNET, s):
                raise ValueError(f"subnet {s!r} is not a subnet id (subnet-…)")
        return self


class DeleteNodegroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodegroup: str = Field(pattern=NODEGROUP_NAME)
    confirm: str

    @model_validator(mode="after")
    def _confirmed(self) -> DeleteNodegroupParams:
        if self.confirm != self.nodegroup:
            raise ValueError(f"confirm must equal the node group's name ({self.nodegroup!r}) to delete it")
        return self


class ScaleInstanceGroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(pattern=INSTANCE_GROUP_NAME)
    target_count: int = Field(ge=0, le=1000)


class LifecycleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_s3_uri: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", max_length=1024)
    on_create: str = Field(min_length=1, max_length=128, pattern=r"^[\S\s]*\S[\S\s]*$")


class AddInstanceGroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=INSTANCE_GROUP_NAME)
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    count: int = Field(ge=1, le=1000)
    execution_role: str = Field(pattern=ROLE_ARN)
    lifecycle_config: LifecycleConfig
    threads_per_core: Literal[1, 2] = 1


# --- read shapes -----------------------------------------------------------------------------------------


class KubeNode(BaseModel):
    """A Kubernetes node of a group, from the watcher's snapshot."""

    name: str
    instance_type: str | None
    ready: bool
    unschedulable: bool
    gpu_capacity: int
    gpu_allocatable: int
    gpu_requested: int
    gpu_free: int


class NodegroupOut(BaseModel):
    name: str
    status: str
    instance_types: list[str]
    capacity_type: str | None
    ami_type: str | None
    release_version: str | None
    version: str | None
    min: int | None
    max: int | None
    desired: int | None
    subnets: list[str]
    node_role: str | None
    disk_size: int | None
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    health_issues: list[dict[str, Any]]
    created_at: datetime | None
    modified_at: datetime | None
    nodes: list[KubeNode]
    gpus: int  # allocatable GPUs of its Kubernetes nodes


class NodegroupList(BaseModel):
    cluster: str
    eks_cluster_name: str
    region: str
    nodegroups: list[NodegroupOut]
    snapshot_age_seconds: float | None


class InstanceNode(BaseModel):
    instance_id: str
    instance_group: str
    instance_type: str | None
    status: str | None
    launch_time: datetime | None
    kube_node: KubeNode | None  # the Kubernetes node `hyperpod-<instance id>`, if it has joined


class InstanceGroupOut(BaseModel):
    name: str
    status: str | None
    instance_type: str
    current_count: int
    target_count: int
    execution_role: str | None
    lifecycle_config: dict[str, Any]
    threads_per_core: int | None
    nodes: list[InstanceNode]


class HyperpodOut(BaseModel):
    cluster: str
    hyperpod_cluster_name: str
    region: str
    status: str
    failure_message: str | None
    instance_groups: list[InstanceGroupOut]
    unmatched_kube_nodes: list[KubeNode]  # HyperPod-labelled nodes with no instance behind them
    snapshot_age_seconds: float | None


class Volume(BaseModel):
    pv: str
    bucket: str
    prefix: str  # "" or ends with "/"
    region: str | None
    claim: str | None  # namespace/name of the bound claim
    phase: str | None
    capacity: str | None


class StorageList(BaseModel):
    cluster: str
    volumes: list[Volume]
    snapshot_age_seconds: float | None


class S3Object(BaseModel):
    key: str  # relative to the volume's prefix
    size: int
    last_modified: datetime | None
    storage_class: str | None


class ObjectListing(BaseModel):
    cluster: str
    pv: str
    bucket: str
    prefix: str  # what was listed, relative to the volume's prefix
    folders: list[str]  # common prefixes (delimiter "/"), relative to the volume's prefix
    objects: list[S3Object]
    cursor: str | None  # pass back as `cursor` for the next page; None: last page


class DownloadUrl(BaseModel):
    cluster: str
    pv: str
    key: str
    url: str
    expires_in_seconds: int
