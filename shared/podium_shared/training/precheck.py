"""`submit_training_job`'s accept-time GPU check, on the watcher's snapshot: the one deploys use (a node
must be able to hold one node's worth of processes; warn when not every node fits now). The worker
repeats it on the live cluster (`jobs.check_gpus`)."""

from __future__ import annotations

from typing import Any

from podium_shared.operations.precheck import PrecheckContext, gpu_fit
from podium_shared.training.jobs import node_selector, own_pods_selector
from podium_shared.training.schemas import SubmitTrainingJobParams


def submit_precheck(ctx: PrecheckContext, params: Any) -> list[str]:
    p = SubmitTrainingJobParams.model_validate(params) if isinstance(params, dict) else params
    return gpu_fit(
        ctx,
        namespace=p.namespace,
        own_pods=own_pods_selector(p.name),
        gpus_per_replica=p.procs_per_node,
        replicas=p.replicas,
        node_selector=node_selector(p),
    )
