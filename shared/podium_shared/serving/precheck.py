"""`deploy_model`'s accept-time check (the issue: refuse with 422 what cannot fit, warn when it will not
all fit now), on the watcher's snapshot. The worker repeats it on the live cluster (`deploy.precheck`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium_shared.cluster_state.gpu import holds_resources, pod_gpus
from podium_shared.operations.precheck import PrecheckContext
from podium_shared.serving import labels as L
from podium_shared.serving.capacity import NodeGpus, eligible_nodes, judge_fit
from podium_shared.serving.deploy import node_selector
from podium_shared.serving.schemas import DeployModelParams
from podium_shared.serving.spec import ServingSpec, resolve


@dataclass(frozen=True)
class Fit:
    """What a deployment needs against what is free now on the nodes it may use."""

    spec: ServingSpec
    needed: int
    free_now: int
    warnings: list[str]


def deploy_precheck(ctx: PrecheckContext, params: Any) -> list[str]:
    p = params if isinstance(params, DeployModelParams) else DeployModelParams.model_validate(params)
    spec = resolve(p, has_token=p.hf_token is not None)
    if spec.gpus_per_replica <= 0 or spec.replicas <= 0:
        return []
    return deploy_fit(ctx, spec).warnings


def deploy_fit(ctx: PrecheckContext, spec: ServingSpec) -> Fit:
    """Raises Invalid (`does_not_fit`) when no node could ever hold a replica, SnapshotMissing without a
    snapshot; warnings when not every replica fits in the GPUs free now."""
    status = ctx.cluster_status()  # SnapshotMissing: the service skips the check and warns
    labels = ctx.node_labels()
    # A redeploy's own pods give their GPUs back when they are replaced; do not count them against it.
    own: dict[str, int] = {}
    for pod in ctx.pods(spec.namespace, f"{L.APP_INSTANCE}={spec.name}"):
        node = (pod.get("spec") or {}).get("nodeName")
        if node and holds_resources(pod):
            own[node] = own.get(node, 0) + pod_gpus(pod)
    nodes = [
        NodeGpus(
            name=n.name,
            labels=labels.get(n.name, {}),
            usable=n.ready and not n.unschedulable,
            allocatable=n.gpu_allocatable,
            free=min(n.gpu_allocatable, n.gpu_free + own.get(n.name, 0)),
        )
        for n in status.nodes
    ]
    selector = node_selector(spec)
    warnings = judge_fit(
        nodes, gpus_per_replica=spec.gpus_per_replica, replicas=spec.replicas, node_selector=selector
    )
    if warnings and status.snapshot_age_seconds is not None and status.snapshot_age_seconds > 30:
        warnings.append(f"the capacity figures are {status.snapshot_age_seconds:.0f} s old")
    return Fit(
        spec=spec,
        needed=spec.gpus_per_replica * spec.replicas,
        free_now=sum(n.free for n in eligible_nodes(nodes, selector)),
        warnings=warnings,
    )
