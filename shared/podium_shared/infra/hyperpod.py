"""SageMaker HyperPod: the cluster's instance groups and nodes (joined to the Kubernetes nodes the
HyperPod agent registers as `hyperpod-<instance id>`), scaling a group, adding one.

`UpdateCluster` replaces the whole instance-group list, so every change sends every group's full
specification, the others exactly as they are described now."""

from __future__ import annotations

from typing import Any

from podium_shared.aws.errors import aws_call
from podium_shared.cluster_state.status import NodeStatus
from podium_shared.errors import Conflict, NotFound, PodiumError
from podium_shared.infra.nodegroups import kube_node
from podium_shared.infra.schemas import (
    AddInstanceGroupParams,
    InstanceGroupOut,
    InstanceNode,
    KubeNode,
)
from podium_shared.infra.waiting import Waiter

NODE_PREFIX = "hyperpod-"
FAILED = frozenset({"Failed", "RollingBack"})
GROUP_FAILED = frozenset({"Failed", "Degraded"})
# Fields of a described instance group that are part of its specification (the rest is status).
SPEC_FIELDS = (
    "InstanceGroupName", "InstanceType", "LifeCycleConfig", "ExecutionRole", "ThreadsPerCore",
    "InstanceStorageConfigs", "OnStartDeepHealthChecks", "TrainingPlanArn", "OverrideVpcConfig",
    "ScheduledUpdateConfig",
)  # fmt: skip


def describe(sm: Any, name: str, waiter: Waiter | None = None) -> dict[str, Any]:
    with aws_call(f'describe HyperPod cluster "{name}"'):
        response = sm.describe_cluster(ClusterName=name)
    if waiter is not None:
        waiter.saw(response)
    return dict(response)


def list_nodes(sm: Any, name: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    with aws_call(f'list the nodes of HyperPod cluster "{name}"'):
        for page in sm.get_paginator("list_cluster_nodes").paginate(ClusterName=name):
            nodes.extend(page.get("ClusterNodeSummaries") or [])
    return nodes


def overview(
    sm: Any, name: str, kube_nodes: list[NodeStatus]
) -> tuple[dict[str, Any], list[InstanceGroupOut], list[KubeNode]]:
    cluster = describe(sm, name)
    instances = list_nodes(sm, name)
    by_name = {n.name: n for n in kube_nodes}
    matched: set[str] = set()
    per_group: dict[str, list[InstanceNode]] = {}
    for inst in instances:
        node_name = NODE_PREFIX + str(inst["InstanceId"])
        kube = by_name.get(node_name)
        if kube is not None:
            matched.add(node_name)
        per_group.setdefault(str(inst.get("InstanceGroupName")), []).append(
            InstanceNode(
                instance_id=inst["InstanceId"],
                instance_group=str(inst.get("InstanceGroupName")),
                instance_type=inst.get("InstanceType"),
                status=(inst.get("InstanceStatus") or {}).get("Status"),
                launch_time=inst.get("LaunchTime"),
                kube_node=kube_node(kube) if kube is not None else None,
            )
        )
    groups = [
        InstanceGroupOut(
            name=g["InstanceGroupName"],
            status=g.get("Status"),
            instance_type=g["InstanceType"],
            current_count=int(g.get("CurrentCount") or 0),
            target_count=int(g.get("TargetCount") or 0),
            execution_role=g.get("ExecutionRole"),
            lifecycle_config=dict(g.get("LifeCycleConfig") or {}),
            threads_per_core=g.get("ThreadsPerCore"),
            nodes=sorted(per_group.get(g["InstanceGroupName"], []), key=lambda n: n.instance_id),
        )
        for g in cluster.get("InstanceGroups") or []
    ]
    unmatched = [
        kube_node(n) for n in kube_nodes if n.node_group_kind == "hyperpod" and n.name not in matched
    ]
    return cluster, groups, unmatched


def _spec_fields(sm: Any) -> tuple[str, ...]:
    # Only the fields this botocore knows (older SDKs lack the newest ones; sending them would fail).
    members = sm.meta.service_model.shape_for("ClusterInstanceGroupSpecification").members
    return tuple(f for f in SPEC_FIELDS if f in members)


def _spec(group: dict[str, Any], fields: tuple[str, ...], count: int) -> dict[str, Any]:
    spec = {f: group[f] for f in fields if group.get(f) is not None}
    spec["InstanceCount"] = count
    return spec


def _group(cluster: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((g for g in cluster.get("InstanceGroups") or [] if g["InstanceGroupName"] == name), None)


def _cluster_failed(name: str, c: dict[str, Any]) -> str:
    return (
        f'HyperPod cluster "{name}" is {c["ClusterStatus"]}: {c.get("FailureMessage") or "no reason given"}'
    )


def _wait(sm: Any, name: str, group: str, waiter: Waiter, what: str) -> dict[str, Any]:
    def failed(c: dict[str, Any]) -> str | None:
        g = _group(c, group)
        if c.get("ClusterStatus") in FAILED:
            return _cluster_failed(name, c)
        if g is not None and g.get("Status") in GROUP_FAILED:
            return f'instance group "{group}" is {g["Status"]}'
        if g is None:
            return f'instance group "{group}" is not in HyperPod cluster "{name}"'
        return None

    def status(c: dict[str, Any]) -> str:
        g = _group(c, group) or {}
        return f"{c.get('ClusterStatus')}/{g.get('Status')} {g.get('CurrentCount')}/{g.get('TargetCount')}"

    def done(c: dict[str, Any]) -> bool:
        g = _group(c, group)
        return (
            c.get("ClusterStatus") == "InService"
            and g is not None
            and g.get("Status") == "InService"
            and g.get("CurrentCount") == g.get("TargetCount")
        )

    return waiter.until(what, lambda: describe(sm, name, waiter), status_of=status, done=done, failed=failed)


def _wait_in_service(sm: Any, name: str, waiter: Waiter) -> dict[str, Any]:
    def failed(c: dict[str, Any]) -> str | None:
        if c.get("ClusterStatus") in FAILED:
            return _cluster_failed(name, c)
        return None

    return waiter.until(
        f'HyperPod cluster "{name}" to be InService before changing it',
        lambda: describe(sm, name, waiter),
        status_of=lambda c: str(c.get("ClusterStatus")),
        done=lambda c: c.get("ClusterStatus") == "InService",
        failed=failed,
    )


def _update(sm: Any, name: str, specs: list[dict[str, Any]], waiter: Waiter, action: str) -> None:
    with aws_call(action):
        waiter.saw(sm.update_cluster(ClusterName=name, InstanceGroups=specs))


def _result(group: str, cluster: dict[str, Any], waiter: Waiter, *, already: bool) -> dict[str, Any]:
    g = _group(cluster, group) or {}
    return {
        "group": group,
        "status": g.get("Status"),
        "cluster_status": cluster.get("ClusterStatus"),
        "current_count": g.get("CurrentCount"),
        "target_count": g.get("TargetCount"),
        "already": already,
        "statuses": waiter.statuses,
        "aws_retries": waiter.aws_retries,
    }


def scale_group(sm: Any, name: str, group: str, target: int, waiter: Waiter) -> dict[str, Any]:
    cluster = describe(sm, name, waiter)
    current = _group(cluster, group)
    if current is None:
        raise NotFound(f'instance group "{group}" is not in HyperPod cluster "{name}"', code="aws_not_found")
    if current.get("TargetCount") == target:
        cluster = _wait(sm, name, group, waiter, f'instance group "{group}" to reach {target} instances')
        return _result(group, cluster, waiter, already=True)
    if cluster.get("ClusterStatus") != "InService":
        cluster = _wait_in_service(sm, name, waiter)
    fields = _spec_fields(sm)
    specs = [
        _spec(g, fields, target if g["InstanceGroupName"] == group else int(g.get("TargetCount") or 0))
        for g in cluster.get("InstanceGroups") or []
    ]
    _update(sm, name, specs, waiter, f'scale instance group "{group}" to {target}')
    cluster = _wait(sm, name, group, waiter, f'instance group "{group}" to reach {target} instances')
    return _result(group, cluster, waiter, already=False)


def add_group(sm: Any, name: str, p: AddInstanceGroupParams, waiter: Waiter) -> dict[str, Any]:
    cluster = describe(sm, name, waiter)
    existing = _group(cluster, p.name)
    if existing is not None:
        if existing["InstanceType"] != p.instance_type:
            raise Conflict(
                f'instance group "{p.name}" already exists with instance type {existing["InstanceType"]}'
            )
        cluster = _wait(sm, name, p.name, waiter, f'instance group "{p.name}" to be InService')
        return _result(p.name, cluster, waiter, already=True)
    if cluster.get("ClusterStatus") != "InService":
        cluster = _wait_in_service(sm, name, waiter)
    fields = _spec_fields(sm)
    specs = [_spec(g, fields, int(g.get("TargetCount") or 0)) for g in cluster.get("InstanceGroups") or []]
    specs.append(
        {
            "InstanceGroupName": p.name,
            "InstanceType": p.instance_type,
            "InstanceCount": p.count,
            "ExecutionRole": p.execution_role,
            "LifeCycleConfig": {
                "SourceS3Uri": p.lifecycle_config.source_s3_uri,
                "OnCreate": p.lifecycle_config.on_create,
            },
            "ThreadsPerCore": p.threads_per_core,
        }
    )
    _update(sm, name, specs, waiter, f'add instance group "{p.name}"')
    cluster = _wait(sm, name, p.name, waiter, f'instance group "{p.name}" to be InService')
    if _group(cluster, p.name) is None:
        raise PodiumError(
            f'instance group "{p.name}" did not appear', code="aws_transition_failed", status=502
        )
    return _result(p.name, cluster, waiter, already=False)
