"""`deploy_model`'s accept-time check (refuse with 422 what can never fit, warn when it will not all fit
now), on the watcher's snapshot. The worker repeats it on the live cluster (`deploy.precheck`)."""

from __future__ import annotations

from typing import Any

from podium_shared.operations.precheck import PrecheckContext, gpu_fit
from podium_shared.serving import labels as L
from podium_shared.serving.deploy import node_selector
from podium_shared.serving.schemas import DeployModelParams
from podium_shared.serving.spec import resolve


def deploy_precheck(ctx: PrecheckContext, params: Any) -> list[str]:
    p = params if isinstance(params, DeployModelParams) else DeployModelParams.model_validate(params)
    spec = resolve(p, has_token=p.hf_token is not None)
    return gpu_fit(
        ctx,
        namespace=spec.namespace,
        # A redeploy's own pods give their GPUs back when they are replaced; do not count them against it.
        own_pods=f"{L.APP_INSTANCE}={spec.name}",
        gpus_per_replica=spec.gpus_per_replica,
        replicas=spec.replicas,
        node_selector=node_selector(spec),
    )
