"""The infrastructure command kinds. Each handler resolves the cluster's AWS coordinates, then converges
(see nodegroups.py / hyperpod.py): idempotent, so the pipeline may run it again after a crash or a
transient AWS failure (throttling, 5xx: retried with backoff, the attempts counted on the operation)."""

from __future__ import annotations

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


def _scale_nodegroup(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    aws = _aws(ctx)
    return nodegroups.scale(
        aws.client("eks"), aws.eks_name(), _coerce(ScaleNodegroupParams, params), _waiter(ctx)
    )


def _create_nodegroup(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    aws = _aws(ctx)
    return nodegroups.create(
        aws.client("eks"), aws.eks_name(), _coerce(CreateNodegroupParams, params), _waiter(ctx)
    )


def _delete_nodegroup(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    aws = _aws(ctx)
    p = _coerce(DeleteNodegroupParams, params)
    return nodegroups.delete(aws.client("eks"), aws.eks_name(), p.nodegroup, _waiter(ctx))


def _scale_instance_group(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    aws = _aws(ctx)
    p = _coerce(ScaleInstanceGroupParams, params)
    return hyperpod.scale_group(
        aws.client("sagemaker"), aws.hyperpod_name(), p.group, p.target_count, _waiter(ctx)
    )


def _add_instance_group(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    aws = _aws(ctx)
    p = _coerce(AddInstanceGroupParams, params)
    return hyperpod.add_group(aws.client("sagemaker"), aws.hyperpod_name(), p, _waiter(ctx))


KINDS: list[CommandKind] = [
    CommandKind(
        name="scale_nodegroup",
        params=ScaleNodegroupParams,
        handler=_scale_nodegroup,
        target=lambda p: Target(None, "NodeGroup", p.nodegroup),
    ),
    CommandKind(
        name="create_nodegroup",
        params=CreateNodegroupParams,
        handler=_create_nodegroup,
        target=lambda p: Target(None, "NodeGroup", p.name),
    ),
    CommandKind(
        name="delete_nodegroup",
        params=DeleteNodegroupParams,
        handler=_delete_nodegroup,
        target=lambda p: Target(None, "NodeGroup", p.nodegroup),
    ),
    CommandKind(
        name="scale_instance_group",
        params=ScaleInstanceGroupParams,
        handler=_scale_instance_group,
        target=lambda p: Target(None, "InstanceGroup", p.group),
    ),
    CommandKind(
        name="add_instance_group",
        params=AddInstanceGroupParams,
        handler=_add_instance_group,
        target=lambda p: Target(None, "InstanceGroup", p.name),
    ),
]
