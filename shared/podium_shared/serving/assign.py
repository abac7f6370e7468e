"""Moving pool pods between businesses: one pod (`assign_pod`) or a whole plan (`distribute_pool`).

A pod leaving a business goes through `draining` (selected by no Service) and waits, bounded, for its
in-flight requests before taking its new label; a pod leaving `unassigned` moves at once. Label writes carry
the pod's resourceVersion, so two concurrent moves of one pod cannot both win: the loser gets a 409, which
is transient, and its retry re-reads the pod."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from podium_shared.errors import Invalid, PodiumError, TransientError
from podium_shared.kube.clients import ClusterClients
from podium_shared.operations.outcomes import Cancelled
from podium_shared.serving import kube_ops
from podium_shared.serving import labels as L
from podium_shared.serving.drain import drain_pod
from podium_shared.serving.pool import PoolPod, plan_distribution


def _relabel(kube: ClusterClients, pod: dict[str, Any], business: str) -> dict[str, Any]:
    meta = pod["metadata"]
    patch = {"metadata": {"labels": {L.BUSINESS: business}, "resourceVersion": meta.get("resourceVersion")}}
    return kube_ops.merge_patch(kube, "Pod", meta["namespace"], meta["name"], patch=patch)


def business_services(kube: ClusterClients, namespace: str, tag: str) -> dict[str, str]:
    """business → Service name, for the business Services of a model."""
    selector = L.label_selector({L.SERVICE_TYPE: L.BUSINESS_SERVICE, L.MODEL: tag})
    out: dict[str, str] = {}
    for svc in kube_ops.list_objects(kube, "Service", namespace, selector=selector):
        meta = svc.get("metadata") or {}
        business = (meta.get("labels") or {}).get(L.BUSINESS)
        if business:
            out.setdefault(str(business), str(meta.get("name")))
    return out


def require_targets(kube: ClusterClients, namespace: str, tag: str, businesses: set[str]) -> None:
    known = business_services(kube, namespace, tag)
    missing = sorted(b for b in businesses if b not in L.RESERVED_BUSINESSES and b not in known)
    if missing:
        raise Invalid(
            f"no business Service for {', '.join(missing)} on this model; create it first",
            code="no_business_service",
            details={"missing": missing, "known": sorted(known)},
        )


def move_pod(
    kube: ClusterClients, pod: dict[str, Any], target: str, *, drain_timeout: float
) -> dict[str, Any]:
    """Relabel one pool pod to `target`, draining it first when it leaves a business. Idempotent."""
    meta = pod.get("metadata") or {}
    name = str(meta.get("name"))
    source = str((meta.get("labels") or {}).get(L.BUSINESS, L.UNASSIGNED))
    if source == target:
        return {"pod": name, "from": source, "to": target, "changed": False}
    drained: dict[str, Any] | None = None
    if source != L.UNASSIGNED:
        if source != L.DRAINING:
            pod = _relabel(kube, pod, L.DRAINING)
        drained = drain_pod(kube, pod, timeout=drain_timeout).as_dict()
    _relabel(kube, pod, target)
    return {"pod": name, "from": source, "to": target, "changed": True, "drain": drained}


def _pool_pod(kube: ClusterClients, namespace: str, name: str) -> dict[str, Any]:
    pod = kube_ops.get_or_404(kube, "Pod", namespace, name)
    if not L.is_pool_pod((pod.get("metadata") or {}).get("labels")):
        raise Invalid(f'pod "{name}" is not a model-pool pod', code="not_a_pool_pod")
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        raise Invalid(f'pod "{name}" is being deleted', code="pod_terminating")
    return pod


def assign_pod(
    kube: ClusterClients, namespace: str, pod_name: str, business: str, *, drain_timeout: float
) -> dict[str, Any]:
    pod = _pool_pod(kube, namespace, pod_name)
    tag = pod["metadata"]["labels"][L.MODEL]
    require_targets(kube, namespace, tag, {business})
    return move_pod(kube, pod, business, drain_timeout=drain_timeout)


def pool_pods(kube: ClusterClients, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    meta = deployment["metadata"]
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return kube_ops.list_objects(kube, "Pod", meta["namespace"], selector=L.label_selector(match))


def pool_deployment(kube: ClusterClients, namespace: str, name: str) -> dict[str, Any]:
    dep = kube_ops.get_or_404(kube, "Deployment", namespace, name)
    if (dep["metadata"].get("labels") or {}).get(L.DEPLOYMENT_TYPE) != L.MODEL_POOL:
        raise Invalid(f'deployment "{name}" is not a model pool', code="not_a_pool")
    return dep


def distribute(
    kube: ClusterClients,
    namespace: str,
    pool: str,
    *,
    ratios: dict[str, int] | None,
    counts: dict[str, int] | None,
    drain_timeout: float,
    concurrency: int,
    progress: Any = None,
    check_cancelled: Any = None,
) -> dict[str, Any]:
    """Plan on the live pods (the truth at execution time; a plan made at accept time could be stale by the
    time a worker runs it), then move with bounded concurrency. Re-running re-plans, so it is idempotent."""
    dep = pool_deployment(kube, namespace, pool)
    tag = dep["metadata"]["labels"][L.MODEL]
    require_targets(kube, namespace, tag, set((ratios or counts or {}).keys()))
    pods = {p["metadata"]["name"]: p for p in pool_pods(kube, dep)}
    moves = plan_distribution([PoolPod.from_obj(p) for p in pods.values()], ratios=ratios, counts=counts)
    total = len(moves)
    done = {"total": total, "succeeded": 0, "failed": 0}
    if progress:
        progress(**done)
    items: list[dict[str, Any]] = []

    def run(move: Any) -> dict[str, Any]:
        if check_cancelled:
            check_cancelled()
        try:
            return move_pod(kube, pods[move.pod], move.target, drain_timeout=drain_timeout)
        except Cancelled:
            raise
        except PodiumError as exc:
            return {
                "pod": move.pod,
                "from": move.source,
                "to": move.target,
                "error": exc.to_dict(),
                "transient": isinstance(exc, TransientError),
            }

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, total or 1))) as pool_:
        for item in pool_.map(run, moves):
            items.append(item)
            done["failed" if "error" in item else "succeeded"] += 1
            if progress:
                progress(**done)
    failed = [i for i in items if "error" in i]
    if any(i["transient"] for i in failed):
        raise TransientError(f"{len(failed)} of {total} moves failed transiently; re-planning on retry")
    if failed:
        raise PodiumError(
            f"{len(failed)} of {total} moves failed",
            code="partial_failure",
            status=409,
            details={"items": items},
        )
    return {"pool": pool, "namespace": namespace, "moves": total, "items": items}
