"""Scaling a Deployment. Standard Deployments go through the scale subresource (a patch to the target
replica count, idempotent). A Deployment another domain owns (a serving model pool, whose scale-down must
remove only unassigned pods) is handed to that domain's `ScalingStrategy`.

Direction: workloads and serving are sibling domains and neither imports the other. Serving offers plain
functions (`serving.pool_scaling.is_pool_template`, `scale_pool`); `podium_shared.domains.install()` wraps
them in a `ScalingStrategy` and hands it to `add_strategy` here. A Deployment no strategy
claims is scaled the standard way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podium_shared.kube.errors import kube_call
from podium_shared.operations.context import ExecutionContext


@dataclass(frozen=True)
class ScalingStrategy:
    name: str
    # Given the pod template's labels: is this Deployment one this strategy scales?
    claims: Callable[[Mapping[str, str]], bool]
    # (context, the Deployment as read, target replicas) -> the operation's result.
    scale: Callable[[ExecutionContext, Any, int], dict[str, Any]]


_STRATEGIES: dict[str, ScalingStrategy] = {}


def add_strategy(strategy: ScalingStrategy) -> None:
    """Idempotent per name (domains.install may run more than once in one process)."""
    _STRATEGIES[strategy.name] = strategy


def scale_deployment(ctx: ExecutionContext, namespace: str, name: str, replicas: int) -> dict[str, Any]:
    with kube_call("get", kind="deployment", name=name, namespace=namespace):
        deployment = ctx.kube.apps.read_namespaced_deployment(name, namespace)
    template = deployment.spec.template if deployment.spec else None
    labels = (template.metadata.labels if template and template.metadata else None) or {}
    for strategy in _STRATEGIES.values():
        if strategy.claims(labels):
            return strategy.scale(ctx, deployment, replicas)
    previous = deployment.spec.replicas if deployment.spec else None
    with kube_call("scale", kind="deployment", name=name, namespace=namespace):
        ctx.kube.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})
    return {"namespace": namespace, "name": name, "replicas": replicas, "previous_replicas": previous}
