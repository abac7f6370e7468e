"""Pool-safe scaling. Scale up: new pods arrive `unassigned` (the pod template says so). Scale down: only
`unassigned` pods may go, and Kubernetes is made to pick exactly those.

The ReplicaSet controller removes pods in this order: unscheduled, pending, not ready, then lowest
`controller.kubernetes.io/pod-deletion-cost`, … So Podium (1) picks N unassigned pods, (2) refuses when an
assigned pod is less ready than a chosen one (the controller would take it before any cost is looked at),
(3) sets a low cost on the chosen pods and a high one on all others, (4) drains the chosen, (5) scales,
(6) waits until the chosen are gone, and (7) verifies no assigned pod was deleted. The old tool skipped
2, 3 and 7 and could kill an assigned pod.

Step 5 writes the plan (operation, target, chosen and assigned pods) on the Deployment in the same patch as
the replica count. An attempt that fails after that patch (a lost connection while waiting, a crash) is
retried: the retry finds the replica count already at the target, and instead of returning at once it
reads the plan back and does 6 and 7 for it, so the result always says whether an assigned pod went."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from podium_shared.errors import Conflict, PodiumError, TransientError
from podium_shared.kube.clients import ClusterClients
from podium_shared.serving import kube_ops
from podium_shared.serving import labels as L
from podium_shared.serving.assign import pool_pods
from podium_shared.serving.drain import drain_pod
from podium_shared.serving.pool import PoolPod, deletion_costs, live, plan_scale_down

if TYPE_CHECKING:
    from podium_shared.operations.context import ExecutionContext

DRAIN_TIMEOUT = 60.0
REMOVAL_TIMEOUT = 300.0
WATCH_SECONDS = 5


def is_pool_template(labels: Mapping[str, str]) -> bool:
    """Whether a Deployment whose pod template has these labels is a model pool (scaled by `scale_pool`,
    reached through workloads' `scale` kind; see podium_shared.domains)."""
    return labels.get(L.DEPLOYMENT_TYPE) == L.MODEL_POOL


def scale_pool(ctx: ExecutionContext, deployment: Any, replicas: int) -> dict[str, Any]:
    """`deployment`: the dict form, or the official client's V1Deployment (the scale kind reads it typed)."""
    if not isinstance(deployment, dict):
        deployment = ctx.kube.api_client.sanitize_for_serialization(deployment)  # type: ignore[no-untyped-call]
    return scale_pool_with(ctx.kube, deployment, replicas, log=ctx.log, operation_id=str(ctx.operation_id))


def _set_costs(kube: ClusterClients, pods: list[dict[str, Any]], chosen: list[str]) -> None:
    costs = deletion_costs([PoolPod.from_obj(p) for p in pods], chosen)
    for pod in pods:
        meta = pod["metadata"]
        want = costs.get(meta["name"])
        if want is None:  # terminating: already leaving
            continue
        if (meta.get("annotations") or {}).get(L.POD_DELETION_COST) != want:
            patch = {"metadata": {"annotations": {L.POD_DELETION_COST: want}}}
            kube_ops.merge_patch(kube, "Pod", meta["namespace"], meta["name"], patch=patch)


def _refuse_if_controller_would_pick_assigned(views: list[PoolPod], chosen: list[str]) -> None:
    picked = set(chosen)
    if not any(v.ready for v in views if v.name in picked):
        return
    weaker = sorted(v.name for v in live(views) if v.business != L.UNASSIGNED and not v.ready)
    if weaker:
        raise Conflict(
            f"assigned pod(s) {', '.join(weaker)} are not ready, so Kubernetes would remove them before the "
            "unassigned ones; wait until they are ready or unassign them first",
            code="assigned_pod_not_ready",
            details={"pods": weaker},
        )


def _refuse_during_rollout(deployment: dict[str, Any]) -> None:
    """With two ReplicaSets alive the Deployment controller splits a scale-down between them by size, so
    the deletion costs no longer decide alone. Retry (transient) once the rollout has finished."""
    meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
    observed = int(status.get("observedGeneration") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    if (
        observed < int(meta.get("generation") or 0)
        or updated < total
        or total > int(spec.get("replicas") or 0)
    ):
        raise TransientError(
            f'deployment "{meta["name"]}" is rolling out; the pool scales down once it has finished',
            code="rollout_in_progress",
        )


def _recorded_plan(deployment: dict[str, Any], operation_id: str | None) -> dict[str, Any] | None:
    """The plan an earlier attempt of this same operation wrote, if any."""
    raw = (deployment["metadata"].get("annotations") or {}).get(L.SCALE_DOWN_PLAN)
    if operation_id is None or not raw:
        return None
    try:
        plan = json.loads(raw)
    except ValueError:
        return None
    return plan if isinstance(plan, dict) and plan.get("operation") == operation_id else None


def scale_pool_with(
    kube: ClusterClients,
    deployment: dict[str, Any],
    replicas: int,
    *,
    log: Any = None,
    operation_id: str | None = None,
) -> dict[str, Any]:
    meta = deployment["metadata"]
    ns, name = meta["namespace"], meta["name"]
    current = int((deployment.get("spec") or {}).get("replicas") or 0)
    result: dict[str, Any] = {"deployment": name, "namespace": ns, "replicas_before": current}

    plan = _recorded_plan(deployment, operation_id)
    if plan is not None and int(plan.get("replicas", -1)) == replicas == current:
        # A retry: an earlier attempt already scaled. Verify its effect rather than report a no-op.
        chosen, assigned = list(plan.get("chosen") or []), set(plan.get("assigned") or [])
        if log:
            log(f"verifying the earlier scale-down of {name}: removing {', '.join(chosen)}")
        result["replicas_before"] = int(plan.get("from", current))
        _await_removal(kube, deployment, chosen, assigned, {**result, "replicas_after": replicas})
        return _removed(result, replicas, chosen, assigned, drains=plan.get("drain") or [], retried=True)

    if replicas >= current:
        if replicas != current:
            kube_ops.merge_patch(kube, "Deployment", ns, name, patch={"spec": {"replicas": replicas}})
        return {**result, "replicas_after": replicas, "added": replicas - current, "removed": []}

    _refuse_during_rollout(deployment)
    pods = pool_pods(kube, deployment)
    views = [PoolPod.from_obj(p) for p in pods]
    chosen = plan_scale_down(views, current - replicas)  # 409 "need N unassigned pods, only M available"
    _refuse_if_controller_would_pick_assigned(views, chosen)
    assigned_before = {v.name for v in live(views) if v.business != L.UNASSIGNED}
    _set_costs(kube, pods, chosen)

    drains = [
        drain_pod(kube, p, timeout=DRAIN_TIMEOUT).as_dict() for p in pods if p["metadata"]["name"] in chosen
    ]
    # Someone may have assigned a chosen pod while we were preparing; re-check right before scaling.
    fresh = {p["metadata"]["name"]: PoolPod.from_obj(p) for p in pool_pods(kube, deployment)}
    moved = [n for n in chosen if n not in fresh or fresh[n].business != L.UNASSIGNED]
    if moved:
        raise TransientError(f"pods {', '.join(moved)} changed while preparing the scale-down; re-planning")

    if log:
        log(f"scaling {name} from {current} to {replicas}, removing {', '.join(chosen)}")
    record = {
        "operation": operation_id, "from": current, "replicas": replicas,
        "chosen": chosen, "assigned": sorted(assigned_before),
    }  # fmt: skip
    patch = {
        "metadata": {"annotations": {L.SCALE_DOWN_PLAN: json.dumps(record, separators=(",", ":"))}},
        "spec": {"replicas": replicas},
    }
    kube_ops.merge_patch(kube, "Deployment", ns, name, patch=patch)
    _await_removal(kube, deployment, chosen, assigned_before, {**result, "replicas_after": replicas})
    return _removed(result, replicas, chosen, assigned_before, drains=drains, retried=False)


def _removed(
    result: dict[str, Any],
    replicas: int,
    chosen: list[str],
    assigned: set[str],
    *,
    drains: list[Any],
    retried: bool,
) -> dict[str, Any]:
    return {
        **result,
        "replicas_after": replicas,
        "added": 0,
        "removed": chosen,
        "assigned_pods_kept": True,
        "drain": drains,
        # What step 7 checked, and whether it did so for an earlier attempt's scale (a retry).
        "verification": {"retried": retried, "chosen_removed": chosen, "assigned_checked": sorted(assigned)},
    }


def _await_removal(
    kube: ClusterClients,
    deployment: dict[str, Any],
    chosen: list[str],
    assigned: set[str],
    context: dict[str, Any],
) -> None:
    """Wait until the chosen pods are gone (or terminating); fail at once if an assigned pod went."""
    ns = deployment["metadata"]["namespace"]
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = L.label_selector(match)
    deadline = time.monotonic() + REMOVAL_TIMEOUT
    while True:
        items, version = kube_ops.list_with_version(kube, "Pod", ns, selector=selector)
        now = {p["metadata"]["name"]: p for p in items}
        remaining = [n for n in chosen if n in now and not now[n]["metadata"].get("deletionTimestamp")]
        lost = sorted(n for n in assigned if n not in now or now[n]["metadata"].get("deletionTimestamp"))
        if lost:
            raise PodiumError(
                f"assigned pod(s) {', '.join(lost)} were removed during the scale-down",
                code="assigned_pod_deleted",
                status=500,
                details={**context, "lost": lost, "chosen": chosen},
            )
        if not remaining:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransientError(f"pods {', '.join(remaining)} not removed yet; checking again")
        # The ReplicaSet controller acts asynchronously: wait for the pool's next pod change, then relist.
        kube_ops.wait_pod_change(
            kube, ns, selector=selector, resource_version=version, timeout=int(min(WATCH_SECONDS, left)) or 1
        )
