"""The serving command kinds. Each handler is thin: coerce params, call the domain function with the
cluster's clients, return the result stored on the operation. All are idempotent (re-running converges)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from podium_shared.models.user import Role
from podium_shared.operations.kinds import CommandKind, Target
from podium_shared.serving import assign, business, deploy
from podium_shared.serving.precheck import deploy_precheck
from podium_shared.serving.schemas import (
    AssignPodParams,
    AssignPodsParams,
    CreateBusinessServiceParams,
    DeleteBusinessServiceParams,
    DeployModelParams,
    DistributePoolParams,
    UndeployModelParams,
)
from podium_shared.serving.spec import resolve

if TYPE_CHECKING:
    from podium_shared.operations.context import ExecutionContext

P = TypeVar("P", bound=BaseModel)


def _coerce(model: type[P], params: Any) -> P:
    # The runner may hand over the validated model or the stored dict; both mean the same.
    return params if isinstance(params, model) else model.model_validate(params)


def _deploy(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    p = _coerce(DeployModelParams, params)
    token = ctx.secrets.get("hf_token") or p.hf_token
    return deploy.deploy_model(ctx.kube, p, hf_token=token)


def _undeploy(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    return deploy.undeploy_model(ctx.kube, _coerce(UndeployModelParams, params))


def _create_service(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    return business.create_business_service(ctx.kube, _coerce(CreateBusinessServiceParams, params))


def _delete_service(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    return business.delete_business_service(ctx.kube, _coerce(DeleteBusinessServiceParams, params))


def _assign(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    p = _coerce(AssignPodParams, params)
    return assign.assign_pod(ctx.kube, p.namespace, p.pod, p.business, drain_timeout=p.drain_timeout_seconds)


def _distribute(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    p = _coerce(DistributePoolParams, params)
    return assign.distribute(
        ctx.kube,
        p.namespace,
        p.pool,
        ratios=p.ratios,
        counts=p.counts,
        drain_timeout=p.drain_timeout_seconds,
        concurrency=p.concurrency,
        progress=ctx.progress,
        check_cancelled=ctx.check_cancelled,
    )


def _assign_pods_not_run(_ctx: ExecutionContext, _params: Any) -> dict[str, Any]:
    # A bulk parent is orchestrated by operations.bulk (children are released and counted), never run.
    raise RuntimeError("assign_pods is orchestrated, not executed")


def _expand_assign_pods(p: AssignPodsParams) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "assign_pod",
            {
                "namespace": p.namespace,
                "pod": m.pod,
                "business": m.business,
                "drain_timeout_seconds": p.drain_timeout_seconds,
            },
        )
        for m in p.moves
    ]


def _deploy_target(p: DeployModelParams) -> Target:
    name = p.name
    if name is None:
        # The same derivation the handler uses, so the audit row names the object that will exist.
        name = resolve(p, has_token=False).name
    return Target(namespace=p.namespace, resource_kind="Deployment", resource_name=name)


# Listed in podium_shared.domains, which registers them with the pipeline (nothing registers at import).
KINDS: list[CommandKind] = [
    CommandKind(
        name="deploy_model",
        params=DeployModelParams,
        handler=_deploy,
        target=_deploy_target,
        secret_fields=("hf_token",),
        precheck=deploy_precheck,
    ),
    CommandKind(
        name="undeploy_model",
        params=UndeployModelParams,
        handler=_undeploy,
        target=lambda p: Target(p.namespace, "Deployment", p.name),
    ),
    CommandKind(
        name="create_business_service",
        params=CreateBusinessServiceParams,
        handler=_create_service,
        target=lambda p: Target(p.namespace, "Service", p.name or f"{p.pool}/{p.business}"),
    ),
    CommandKind(
        name="delete_business_service",
        params=DeleteBusinessServiceParams,
        handler=_delete_service,
        target=lambda p: Target(p.namespace, "Service", p.name),
    ),
    CommandKind(
        name="assign_pod",
        params=AssignPodParams,
        handler=_assign,
        target=lambda p: Target(p.namespace, "Pod", p.pod),
    ),
    CommandKind(
        name="distribute_pool",
        params=DistributePoolParams,
        handler=_distribute,
        min_role=Role.operator,
        queue="bulk",
        target=lambda p: Target(p.namespace, "Deployment", p.pool),
    ),
    CommandKind(
        name="assign_pods",
        params=AssignPodsParams,
        handler=_assign_pods_not_run,
        queue="bulk",
        target=lambda p: Target(p.namespace, "Pod", None),
        expands=_expand_assign_pods,
    ),
]
