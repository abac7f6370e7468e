"""What moto lacks, patched into moto's classes inside the emulator process only.

moto answers EKS and SageMaker calls but (5.2) has gaps Podium's code and tests depend on:
- node groups are ACTIVE the instant they are created, updated or deleted (deleted ones vanish at once);
  here they go CREATING / UPDATING / DELETING first and settle after a delay (`Timings`, divided by the
  speed factor, like kubesim's --speed);
- a node group created without `scalingConfig` shares moto's module-level default dict, so scaling one
  such group scaled them all; here each group gets its own copy;
- scaling is not validated; here min <= desired <= max and max >= 1 are enforced (InvalidParameterException)
  and an update while a group is not ACTIVE is refused (ResourceInUseException), as EKS does;
- a node group whose instance type is marked unavailable (`unavailable_instance_types`) ends in
  CREATE_FAILED with a health issue, so failures can be shown;
- SageMaker `UpdateCluster` does not exist (server mode answers 500); here it takes every instance group's
  full spec (a group left out is refused, as Podium must send them all), changes target counts, adds new
  groups, and the cluster and groups go Updating / Creating -> InService while nodes are added/removed;
- `CreateCluster` fails without `ThreadsPerCore`; here it defaults to 1, and the cluster starts Creating;
- HyperPod node ids look like EC2 instance ids (`i-…`), as real ones do.
"""

from __future__ import annotations

import copy
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import BaseModel  # noqa: F401  (moto must be importable before patching)
from moto.core.responses import ActionResult
from moto.eks import models as eks_models
from moto.eks.exceptions import InvalidParameterException, ResourceInUseException
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError

from podium_awsemu.scheduler import Scheduler


@dataclass
class Timings:
    """Seconds at speed 1 (roughly a tenth of real AWS, so `make run` stays watchable)."""

    nodegroup_create: float = 30.0
    nodegroup_update: float = 10.0
    nodegroup_delete: float = 20.0
    hyperpod_create: float = 30.0
    hyperpod_update: float = 20.0
    speed: float = 1.0

    def scaled(self, seconds: float) -> float:
        return seconds / max(self.speed, 0.001)


@dataclass
class State:
    timings: Timings
    scheduler: Scheduler
    lock: threading.RLock = field(default_factory=threading.RLock)
    unavailable_instance_types: set[str] = field(default_factory=set)


_state: State | None = None


def state() -> State:
    assert _state is not None, "extensions.install() was not called"
    return _state


def install(timings: Timings) -> State:
    """Patch moto (idempotent per process; the timings can be replaced)."""
    global _state  # noqa: PLW0603 - one emulator per process
    if _state is not None:
        _state.timings = timings
        return _state
    _state = State(timings=timings, scheduler=Scheduler())
    _patch_eks()
    _patch_sagemaker()
    return _state


# --- EKS node groups -------------------------------------------------------------------------------------


def _check_scaling(scaling: dict[str, Any]) -> None:
    lo, hi, want = scaling.get("minSize"), scaling.get("maxSize"), scaling.get("desiredSize")
    if hi is not None and hi < 1:
        raise InvalidParameterException("Maximum size must be at least 1")
    if lo is not None and lo < 0:
        raise InvalidParameterException("Minimum size must be at least 0")
    if lo is not None and hi is not None and lo > hi:
        raise InvalidParameterException("Minimum size must be less than or equal to maximum size")
    if want is not None and ((lo is not None and want < lo) or (hi is not None and want > hi)):
        raise InvalidParameterException("Desired size must be between minimum and maximum size")


def _patch_eks() -> None:  # noqa: PLR0915 - three patched methods read best together
    backend = eks_models.EKSBackend
    original_create = backend.create_nodegroup
    original_update = backend.update_nodegroup_config
    original_delete = backend.delete_nodegroup

    def create_nodegroup(self: Any, *args: Any, **kwargs: Any) -> Any:
        scaling = kwargs.get("scaling_config")
        if scaling:
            _check_scaling(scaling)
        with state().lock:
            nodegroup = original_create(self, *args, **kwargs)
            # moto's default is one module-level dict shared by every group created without one.
            nodegroup.scaling_config = dict(nodegroup.scaling_config)
            nodegroup.health = {"issues": []}
            nodegroup.labels = dict(nodegroup.labels or {})
            nodegroup.status = "CREATING"
        st = state()
        asg_name = str(nodegroup.resources["autoScalingGroups"][0]["name"])  # type: ignore[index]
        failed = set(nodegroup.instance_types) & st.unavailable_instance_types

        def settle() -> None:
            with st.lock:
                if nodegroup.status != "CREATING":
                    return
                if failed:
                    nodegroup.status = "CREATE_FAILED"
                    nodegroup.health = {
                        "issues": [
                            {
                                "code": "AsgInstanceLaunchFailures",
                                "message": "Could not launch On-Demand Instances. "
                                "InsufficientInstanceCapacity"
                                f" - We currently do not have sufficient {sorted(failed)[0]} capacity in the"
                                " Availability Zone you requested.",
                                "resourceIds": [asg_name],
                            }
                        ]
                    }
                else:
                    nodegroup.status = "ACTIVE"

        st.scheduler.after(st.timings.scaled(st.timings.nodegroup_create), settle)
        return nodegroup

    def update_nodegroup_config(self: Any, cluster_name: str, nodegroup_name: str, **kwargs: Any) -> Any:
        st = state()
        with st.lock:
            cluster = self.clusters.get(cluster_name)
            nodegroup = cluster.nodegroups.get(nodegroup_name) if cluster else None
            if nodegroup is not None:
                if nodegroup.status != "ACTIVE":
                    raise ResourceInUseException(
                        f"Nodegroup {nodegroup_name} is currently in {nodegroup.status} state and cannot"
                        " be updated",
                        clusterName=cluster_name,
                        nodegroupName=nodegroup_name,
                    )
                scaling = kwargs.get("scaling_config")
                if scaling:
                    _check_scaling({**nodegroup.scaling_config, **scaling})
            update = original_update(self, cluster_name, nodegroup_name, **kwargs)
            assert nodegroup is not None  # moto raised ResourceNotFound otherwise
            nodegroup.status = "UPDATING"
            update["status"] = "InProgress"

        def settle() -> None:
            with st.lock:
                if nodegroup.status == "UPDATING":
                    nodegroup.status = "ACTIVE"

        st.scheduler.after(st.timings.scaled(st.timings.nodegroup_update), settle)
        return update

    def delete_nodegroup(self: Any, cluster_name: str, nodegroup_name: str) -> Any:
        st = state()
        with st.lock:
            cluster = self.clusters.get(cluster_name)
            nodegroup = cluster.nodegroups.get(nodegroup_name) if cluster else None
            if nodegroup is None:
                return original_delete(self, cluster_name, nodegroup_name)  # moto's not-found errors
            if nodegroup.status == "DELETING":
                return nodegroup
            if nodegroup.status in ("CREATING", "UPDATING"):
                raise ResourceInUseException(
                    f"Nodegroup {nodegroup_name} is currently in {nodegroup.status} state",
                    clusterName=cluster_name,
                    nodegroupName=nodegroup_name,
                )
            nodegroup.status = "DELETING"

        def gone() -> None:
            with st.lock:
                if cluster_name in self.clusters and nodegroup_name in self.clusters[cluster_name].nodegroups:
                    original_delete(self, cluster_name, nodegroup_name)

        st.scheduler.after(st.timings.scaled(st.timings.nodegroup_delete), gone)
        return nodegroup

    backend.create_nodegroup = create_nodegroup  # type: ignore[method-assign]
    backend.update_nodegroup_config = update_nodegroup_config  # type: ignore[method-assign,assignment]
    backend.delete_nodegroup = delete_nodegroup  # type: ignore[method-assign]


# --- SageMaker HyperPod ----------------------------------------------------------------------------------


def _instance_id() -> str:
    return "i-" + secrets.token_hex(8) + secrets.token_hex(1)[:1]


def _converge(cluster: Any, group: dict[str, Any]) -> None:
    """Add or remove this group's nodes until there are TargetCount of them."""
    name = group["InstanceGroupName"]
    mine = [n for n in cluster.nodes.values() if n.instance_group_name == name]
    target = int(group["TargetCount"])
    for node in mine[target:]:
        del cluster.nodes[node.instance_id]
    for _ in range(target - len(mine)):
        node_id = _instance_id()
        cluster.nodes[node_id] = sm_models.ClusterNode(
            region_name=cluster.region_name,
            account_id=cluster.account_id,
            cluster_name=cluster.cluster_name,
            instance_group_name=name,
            instance_type=group["InstanceType"],
            life_cycle_config=group["LifeCycleConfig"],
            execution_role=group["ExecutionRole"],
            node_id=node_id,
            threads_per_core=group.get("ThreadsPerCore"),
        )
    group["CurrentCount"] = target
    group["Status"] = "InService"


def _settle_cluster(cluster: Any) -> None:
    if all(g.get("Status") == "InService" for g in cluster.instance_groups):
        cluster.status = "InService"


def _schedule_converge(cluster: Any, group: dict[str, Any], delay: float) -> None:
    st = state()

    def run() -> None:
        with st.lock:
            _converge(cluster, group)
            _settle_cluster(cluster)

    st.scheduler.after(delay, run)


def _patch_sagemaker() -> None:  # noqa: PLR0915 - as _patch_eks
    backend = sm_models.SageMakerModelBackend
    original_create = backend.create_cluster

    def create_cluster(
        self: Any, cluster_name: str, instance_groups: list[dict[str, Any]], **kwargs: Any
    ) -> str:
        st = state()
        groups = [{"ThreadsPerCore": 1, **g} for g in copy.deepcopy(instance_groups or [])]
        with st.lock:
            arn = original_create(self, cluster_name=cluster_name, instance_groups=groups, **kwargs)
            cluster = self.clusters[cluster_name]
            cluster.nodes.clear()
            cluster.status = "Creating"
            for group in cluster.instance_groups:
                group["CurrentCount"] = 0
                group["Status"] = "Creating"
        for group in cluster.instance_groups:
            _schedule_converge(cluster, group, st.timings.scaled(st.timings.hyperpod_create))
        return str(arn)

    def update_cluster(self: Any, cluster_name: str, instance_groups: list[dict[str, Any]]) -> str:
        st = state()
        with st.lock:
            if cluster_name.startswith("arn:"):
                cluster_name = cluster_name.rsplit("/", 1)[-1]
            cluster = self.clusters.get(cluster_name)
            if cluster is None:
                raise ValidationError(message=f"Could not find cluster '{cluster_name}'.")
            if cluster.status != "InService":
                raise ValidationError(
                    message=f"Cluster {cluster_name} is in {cluster.status} state; it can be updated only"
                    " when InService."
                )
            existing = {g["InstanceGroupName"]: g for g in cluster.instance_groups}
            given = {g["InstanceGroupName"]: g for g in instance_groups or []}
            missing = sorted(set(existing) - set(given))
            if missing:
                raise ValidationError(
                    message=f"Instance groups {missing} are missing from the request; UpdateCluster needs"
                    " the full specification of every instance group."
                )
            changed: list[dict[str, Any]] = []
            for name, spec in given.items():
                count = int(spec["InstanceCount"])
                if count < 0:
                    raise ValidationError(message=f"InstanceCount of {name} must be at least 0.")
                group = existing.get(name)
                if group is None:
                    cluster.valid_cluster_node_instance_types(spec["InstanceType"])
                    group = {k: v for k, v in copy.deepcopy(spec).items() if k != "InstanceCount"}
                    group.setdefault("ThreadsPerCore", 1)
                    group.update(CurrentCount=0, TargetCount=count, Status="Creating")
                    cluster.instance_groups.append(group)
                    changed.append(group)
                    continue
                if spec["InstanceType"] != group["InstanceType"]:
                    raise ValidationError(
                        message=f"The instance type of instance group {name} cannot be changed."
                    )
                if count != group["TargetCount"]:
                    group["TargetCount"] = count
                    group["Status"] = "Updating"
                    changed.append(group)
            if changed:
                cluster.status = "Updating"
        for group in changed:
            _schedule_converge(cluster, group, st.timings.scaled(st.timings.hyperpod_update))
        return str(cluster.arn)

    def update_cluster_response(self: Any) -> Any:
        arn = self.sagemaker_backend.update_cluster(
            cluster_name=self._get_param("ClusterName"),
            instance_groups=self._get_param("InstanceGroups"),
        )
        return ActionResult({"ClusterArn": arn})

    backend.create_cluster = create_cluster  # type: ignore[method-assign,assignment]
    backend.update_cluster = update_cluster  # type: ignore[attr-defined]
    sm_responses.SageMakerResponse.update_cluster = update_cluster_response  # type: ignore[attr-defined]
