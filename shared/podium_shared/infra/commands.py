"""The infrastructure command kinds. Each handler resolves the cluster's AWS coordinates, then converges
(see nodegroups.py / hyperpod.py): idempotent, so the pipeline may run it again after a crash or a
transient AWS failure (throttling, 5xx: retried with backoff, the attempts counted on the operation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from podium_shared.infra import hyperpod, nodegroups
from podium_shared.infra.access import ClusterAws, cluster_aws
from podium_shared.infra.schemas import (
    AddInstanceGroupParams,
    CreateNodegroupParams,
    DeleteNodegroupParams,
    ScaleInstanceGroupParams,
    ScaleNodegroupParams,
)
from podium_shared.infra.waiting import Waiter
from podium_shared.operations.kinds import CommandKind, Target

if TYPE_CHECKING:
    from podium_shared.operations.context import ExecutionContext

P = TypeVar("P", bound=BaseModel)


def _coerce(model: type[P], params: Any) -> P:
    return params if isinstance(params, model) else model.model_validate(params)


def _aws(ctx: ExecutionContext) -> ClusterAws:
    with ctx.sessions() as session:
        return cluster_aws(session, ctx.cluster, ctx.settings)


def _waiter(ctx: ExecutionContext) -> Waiter:
    return Waiter(
        poll_seconds=ctx.settings.aws_poll_interval_seconds,
        timeout_seconds=ctx.settings.aws_wait_timeout_seconds,
        progress=ctx.progress,
        check_cancelled=ctx.check_cancelled,
    )


# converge(AWS client, the EKS or HyperPod cluster's name, params, waiter) -> the operation's result.
Converge = Callable[[Any, str, Any, Waiter], dict[str, Any]]


def _kind(
    name: str, model: type[BaseModel], converge: Converge, *, hyperpod_group: str = "", nodegroup: str = ""
) -> CommandKind:
    """A kind whose handler converges one EKS node group or one HyperPod instance group, named by the
    param given (the operation's target)."""
    service, target, key = (
        ("sagemaker", "InstanceGroup", hyperpod_group) if hyperpod_group else ("eks", "NodeGroup", nodegroup)
    )

    def handler(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
        aws = _aws(ctx)
        cluster = aws.hyperpod_name() if hyperpod_group else aws.eks_name()
        return converge(aws.client(service), cluster, _coerce(model, params), _waiter(ctx))

    return CommandKind(
        name=name, params=model, handler=handler, target=lambda p: Target(None, target, getattr(p, key))
    )


KINDS: list[CommandKind] = [
    _kind("scale_nodegroup", ScaleNodegroupParams, nodegroups.scale, nodegroup="nodegroup"),
    _kind("create_nodegroup", CreateNodegroupParams, nodegroups.create, nodegroup="name"),
    _kind(
        "delete_nodegroup", DeleteNodegroupParams,
        lambda eks, cluster, p, w: nodegroups.delete(eks, cluster, p.nodegroup, w), nodegroup="nodegroup",
    ),
    _kind(
        "scale_instance_group", ScaleInstanceGroupParams,
        lambda sm, cluster, p, w: hyperpod.scale_group(sm, cluster, p.group, p.target_count, w),
        hyperpod_group="group",
    ),
    _kind("add_instance_group", AddInstanceGroupParams, hyperpod.add_group, hyperpod_group="name"),
]  # fmt: skip
