"""EKS managed node groups: list (joined to the Kubernetes nodes of each group), scale, create, delete.

Every mutation converges: it first looks at the group, treats "already in the target state" as success,
waits out a transition someone else started, then acts and waits (bounded, with progress) until the
group is ACTIVE or gone — or reports the failure with the group's health issues."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from podium_shared.aws.errors import aws_call
from podium_shared.cluster_state.status import NodeStatus
from podium_shared.errors import Conflict, NotFound, PodiumError
from podium_shared.infra.schemas import (
    CreateNodegroupParams,
    KubeNode,
    NodegroupOut,
    ScaleNodegroupParams,
)
from podium_shared.infra.waiting import Waiter

FAILED = frozenset({"CREATE_FAILED", "DELETE_FAILED", "DEGRADED"})
DESCRIBE_CONCURRENCY = 8


def kube_node(n: NodeStatus) -> KubeNode:
    return KubeNode(
        name=n.name, instance_type=n.instance_type, ready=n.ready, unschedulable=n.unschedulable,
        gpu_capacity=n.gpu_capacity, gpu_allocatable=n.gpu_allocatable, gpu_requested=n.gpu_requested,
        gpu_free=n.gpu_free,
    )  # fmt: skip


def describe(eks: Any, cluster: str, name: str, waiter: Waiter | None = None) -> dict[str, Any] | None:
    """The node group as EKS describes it; None once it does not exist."""
    try:
        with aws_call(f'describe node group "{name}"'):
            response = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)
    except NotFound:
        return None
    if waiter is not None:
        waiter.saw(response)
    return dict(response["nodegroup"])


def list_nodegroups(eks: Any, cluster: str, nodes: list[NodeStatus]) -> list[NodegroupOut]:
    with aws_call(f'list the node groups of EKS cluster "{cluster}"'):
        names: list[str] = []
        for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
            names.extend(page.get("nodegroups") or [])
    # One DescribeNodegroup per group is the only way to get their details; a few at a time.
    with ThreadPoolExecutor(max_workers=DESCRIBE_CONCURRENCY) as pool:
        described = list(pool.map(lambda n: describe(eks, cluster, n), names))
    by_group: dict[str, list[NodeStatus]] = {}
    for node in nodes:
        if node.node_group_kind == "eks" and node.node_group:
            by_group.setdefault(node.node_group, []).append(node)
    return sorted(
        (to_out(ng, by_group.get(ng["nodegroupName"], [])) for ng in described if ng is not None),
        key=lambda g: g.name,
    )


def to_out(ng: dict[str, Any], nodes: list[NodeStatus]) -> NodegroupOut:
    scaling = ng.get("scalingConfig") or {}
    kube = [kube_node(n) for n in sorted(nodes, key=lambda n: n.name)]
    return NodegroupOut(
        name=ng["nodegroupName"],
        status=str(ng.get("status") or ""),
        instance_types=list(ng.get("instanceTypes") or []),
        capacity_type=ng.get("capacityType"),
        ami_type=ng.get("amiType"),
        release_version=ng.get("releaseVersion"),
        version=ng.get("version"),
        min=scaling.get("minSize"),
        max=scaling.get("maxSize"),
        desired=scaling.get("desiredSize"),
        subnets=list(ng.get("subnets") or []),
        node_role=ng.get("nodeRole"),
        disk_size=_int_or_none(ng.get("diskSize")),
        labels=dict(ng.get("labels") or {}),
        taints=list(ng.get("taints") or []),
        health_issues=list((ng.get("health") or {}).get("issues") or []),
        created_at=ng.get("createdAt"),
        modified_at=ng.get("modifiedAt"),
        nodes=kube,
        gpus=sum(n.gpu_allocatable for n in kube),
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _issues(ng: dict[str, Any]) -> str:
    issues = (ng.get("health") or {}).get("issues") or []
    return "; ".join(f"{i.get('code')}: {i.get('message')}" for i in issues) or "no health issues reported"


def _scaling(ng: dict[str, Any]) -> dict[str, int | None]:
    s = ng.get("scalingConfig") or {}
    return {"min": s.get("minSize"), "max": s.get("maxSize"), "desired": s.get("desiredSize")}


def _wait_active(eks: Any, cluster: str, name: str, waiter: Waiter, what: str) -> dict[str, Any]:
    def failed(ng: dict[str, Any] | None) -> str | None:
        if ng is None:
            return f'node group "{name}" disappeared while waiting for {what}'
        if ng["status"] in FAILED:
            return f'node group "{name}" is {ng["status"]}: {_issues(ng)}'
        if ng["status"] == "DELETING":
            return f'node group "{name}" is being deleted'
        return None

    found = waiter.until(
        what,
        lambda: describe(eks, cluster, name, waiter),
        status_of=lambda ng: "GONE" if ng is None else str(ng["status"]),
        done=lambda ng: ng is not None and ng["status"] == "ACTIVE",
        failed=failed,
    )
    assert found is not None
    return found


def _result(name: str, ng: dict[str, Any], waiter: Waiter, *, already: bool) -> dict[str, Any]:
    return {
        "nodegroup": name,
        "status": ng["status"] if ng else "GONE",
        "already": already,
        "scaling": _scaling(ng) if ng else None,
        "statuses": waiter.statuses,
        "aws_retries": waiter.aws_retries,
    }


def scale(eks: Any, cluster: str, p: ScaleNodegroupParams, waiter: Waiter) -> dict[str, Any]:
    name = p.nodegroup
    want = {"min": p.min, "max": p.max, "desired": p.desired}
    ng = describe(eks, cluster, name, waiter)
    if ng is None:
        raise NotFound(f'node group "{name}" does not exist in EKS cluster "{cluster}"', code="aws_not_found")
    if ng["status"] in FAILED or ng["status"] == "DELETING":
        raise Conflict(f'node group "{name}" is {ng["status"]} and cannot be scaled: {_issues(ng)}')
    if _scaling(ng) == want:
        # Already asked for (by us before a crash, or by someone else): converge on ACTIVE.
        ng = _wait_active(eks, cluster, name, waiter, f'node group "{name}" to become ACTIVE')
        return _result(name, ng, waiter, already=True)
    if ng["status"] != "ACTIVE":
        _wait_active(eks, cluster, name, waiter, f'node group "{name}" to finish {ng["status"]}')
    # EKS checks the new sizes against each other only, so send all three in one update.
    with aws_call(f'scale node group "{name}"'):
        response = eks.update_nodegroup_config(
            clusterName=cluster,
            nodegroupName=name,
            scalingConfig={"minSize": p.min, "maxSize": p.max, "desiredSize": p.desired},
        )
    waiter.saw(response)
    ng = _wait_active(eks, cluster, name, waiter, f'node group "{name}" to finish scaling')
    return _result(name, ng, waiter, already=False) | {"update_id": response["update"]["id"]}


GPU_FAMILIES = re.compile(r"^(p\d|g\d)[a-z]*\.")
NEURON_FAMILIES = re.compile(r"^(trn\d|inf\d)[a-z]*\.")
ARM_FAMILIES = re.compile(r"^[a-z]+\d+g[a-z]*\.")


def default_ami_type(instance_types: list[str]) -> str:
    """A GPU (NVIDIA) AMI for GPU instance types, Neuron for Trainium/Inferentia, standard otherwise."""
    first = instance_types[0]
    if first.startswith("g5g."):
        return "AL2023_ARM_64_NVIDIA"
    if GPU_FAMILIES.match(first):
        return "AL2023_x86_64_NVIDIA"
    if NEURON_FAMILIES.match(first):
        return "AL2023_x86_64_NEURON"
    if ARM_FAMILIES.match(first):
        return "AL2023_ARM_64_STANDARD"
    return "AL2023_x86_64_STANDARD"


def _defaults(eks: Any, cluster: str, p: CreateNodegroupParams) -> tuple[list[str], str]:
    subnets = p.subnets
    if subnets is None:
        with aws_call(f'describe EKS cluster "{cluster}"'):
            vpc = eks.describe_cluster(name=cluster)["cluster"].get("resourcesVpcConfig") or {}
        subnets = list(vpc.get("subnetIds") or [])
        if not subnets:
            raise PodiumError(
                f'EKS cluster "{cluster}" reports no subnets; give subnets', code="invalid", status=422
            )
    role = p.node_role
    if role is None:
        with aws_call(f'list the node groups of EKS cluster "{cluster}"'):
            names = eks.list_nodegroups(clusterName=cluster).get("nodegroups") or []
        for other in names:
            found = describe(eks, cluster, other)
            if found and found.get("nodeRole"):
                role = str(found["nodeRole"])
                break
        if role is None:
            raise PodiumError(
                "give node_role: the cluster has no node group whose role could be reused",
                code="invalid",
                status=422,
            )
    return subnets, role


def create(eks: Any, cluster: str, p: CreateNodegroupParams, waiter: Waiter) -> dict[str, Any]:
    name = p.name
    ng = describe(eks, cluster, name, waiter)
    if ng is not None:
        if ng["status"] == "DELETING":
            raise Conflict(f'node group "{name}" is being deleted; create it again once it is gone')
        if ng["status"] in FAILED:
            raise PodiumError(f'node group "{name}" is {ng["status"]}: {_issues(ng)}',
                              code="aws_transition_failed", status=502)  # fmt: skip
        # It exists (our earlier attempt, or someone else's): converge on ACTIVE.
        ng = _wait_active(eks, cluster, name, waiter, f'node group "{name}" to become ACTIVE')
        return _result(name, ng, waiter, already=True)
    subnets, role = _defaults(eks, cluster, p)
    request: dict[str, Any] = {
        "clusterName": cluster,
        "nodegroupName": name,
        "instanceTypes": p.instance_types,
        "capacityType": p.capacity_type,
        "amiType": p.ami_type or default_ami_type(p.instance_types),
        "subnets": subnets,
        "nodeRole": role,
        "diskSize": p.disk_size,
        "scalingConfig": {
            "minSize": p.scaling.min,
            "maxSize": p.scaling.max,
            "desiredSize": p.scaling.desired,
        },
        "labels": p.labels,
        "taints": [{"key": t.key, "value": t.value or "", "effect": t.effect} for t in p.taints],
        # Idempotency on AWS's side too: a retried request after a lost answer is the same request.
        "clientRequestToken": f"podium-{cluster}-{name}"[:64],
    }
    with aws_call(f'create node group "{name}"'):
        response = eks.create_nodegroup(**request)
    waiter.saw(response)
    ng = _wait_active(eks, cluster, name, waiter, f'node group "{name}" to become ACTIVE')
    return _result(name, ng, waiter, already=False)


def delete(eks: Any, cluster: str, name: str, waiter: Waiter) -> dict[str, Any]:
    ng = describe(eks, cluster, name, waiter)
    if ng is None:
        return {
            "nodegroup": name,
            "status": "GONE",
            "already": True,
            "statuses": [],
            "aws_retries": waiter.aws_retries,
        }
    if ng["status"] != "DELETING":
        if ng["status"] in ("CREATING", "UPDATING"):
            _wait_settled(eks, cluster, name, waiter)
        with aws_call(f'delete node group "{name}"'):
            waiter.saw(eks.delete_nodegroup(clusterName=cluster, nodegroupName=name))

    def failed(found: dict[str, Any] | None) -> str | None:
        if found is not None and found["status"] == "DELETE_FAILED":
            return f'node group "{name}" could not be deleted: {_issues(found)}'
        return None

    waiter.until(
        f'node group "{name}" to be deleted',
        lambda: describe(eks, cluster, name, waiter),
        status_of=lambda found: "GONE" if found is None else str(found["status"]),
        done=lambda found: found is None,
        failed=failed,
    )
    return {"nodegroup": name, "status": "GONE", "already": False, "statuses": waiter.statuses,
            "aws_retries": waiter.aws_retries}  # fmt: skip


def _wait_settled(eks: Any, cluster: str, name: str, waiter: Waiter) -> None:
    waiter.until(
        f'node group "{name}" to settle before deleting it',
        lambda: describe(eks, cluster, name, waiter),
        status_of=lambda ng: "GONE" if ng is None else str(ng["status"]),
        done=lambda ng: ng is None or ng["status"] not in ("CREATING", "UPDATING"),
    )
