"""`deploy_model`'s accept-time check (refuse with 422 what can never fit, warn when it will not all fit
now), on the watcher's snapshot. The worker repeats it on the live cluster (`deploy.precheck`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium_shared.operations.precheck import PrecheckContext, gpu_fit_detail
from podium_shared.serving import labels as L
from podium_shared.serving.deploy import node_selector
from podium_shared.serving.schemas import DeployModelParams
from podium_shared.serving.spec import ServingSpec, resolve


@dataclass(frozen=True)
class Fit:
    """What a deployment needs against what is free now on the nodes it may use."""

    spec: ServingSpec
    needed: int
    free_now: int | None
    warnings: list[str]


def deploy_precheck(ctx: PrecheckContext, params: Any) -> list[str]:
    p = params if isinstance(params, DeployModelParams) else DeployModelParams.model_validate(params)
    spec = resolve(p, has_token=p.hf_token is not None)
    return deploy_fit(ctx, spec).warnings


def deploy_fit(ctx: PrecheckContext, spec: ServingSpec) -> Fit:
    """The shared GPU check (`operations.precheck.gpu_fit_detail`) for a deployment: raises Invalid
    (`does_not_fit`) when no node could ever hold a replica, SnapshotMissing without a snapshot; warnings
    when not every replica fits in the GPUs free now."""
    fit = gpu_fit_detail(
        ctx,
        namespace=spec.namespace,
        # A redeploy's own pods give their GPUs back when they are replaced; do not count them against it.
        own_pods=f"{L.APP_INSTANCE}={spec.name}",
        gpus_per_replica=spec.gpus_per_replica,
        replicas=spec.replicas,
        node_selector=node_selector(spec),
    )
    return Fit(
        spec=spec,
        needed=spec.gpus_per_replica * spec.replicas,
        free_now=fit.free_now,
        warnings=fit.warnings,
    )
