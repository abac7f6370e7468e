"""Scaling a Deployment. Standard Deployments go through the scale subresource (a patch to the target
replica count, idempotent); model pools are handed to the serving domain, which removes only unassigned
pods on scale-down."""

from __future__ import annotations

import importlib
from typing import Any

from podium_shared.errors import PodiumError
from podium_shared.kube.errors import kube_call
from podium_shared.operations.context import ExecutionContext
from podium_shared.serving.labels import DEPLOYMENT_TYPE, MODEL_POOL


def scale_deployment(ctx: ExecutionContext, namespace: str, name: str, replicas: int) -> dict[str, Any]:
    with kube_call("get", kind="deployment", name=name, namespace=namespace):
        deployment = ctx.kube.apps.read_namespaced_deployment(name, namespace)
    template = deployment.spec.template if deployment.spec else None
    labels = (template.metadata.labels if template and template.metadata else None) or {}
    if labels.get(DEPLOYMENT_TYPE) == MODEL_POOL:
        return _scale_pool(ctx, deployment, replicas)
    previous = deployment.spec.replicas if deployment.spec else None
    with kube_call("scale", kind="deployment", name=name, namespace=namespace):
        ctx.kube.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})
    return {"namespace": namespace, "name": name, "replicas": replicas, "previous_replicas": previous}


def _scale_pool(ctx: ExecutionContext, deployment: Any, replicas: int) -> dict[str, Any]:
    try:
        pool_scaling = importlib.import_module("podium_shared.serving.pool_scaling")
    except ModuleNotFoundError:
        raise PodiumError(
            "scaling a model pool is not available in this build of Podium", code="unsupported", status=501
        ) from None
    result: dict[str, Any] = pool_scaling.scale_pool(ctx, deployment, replicas)
    return result
