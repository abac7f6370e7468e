"""Serving reads (pool status, business Services), answered from the watcher's snapshot in Redis; the
cluster is never called per request."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from podium_shared.auth.principal import Principal
from podium_shared.clusters.service import get_cluster
from podium_shared.errors import Forbidden, Invalid, NotFound, Unavailable
from podium_shared.operations.precheck import PrecheckContext, SnapshotMissing
from podium_shared.realtime.state import read_snapshot, snapshot_age
from podium_shared.serving import labels as L
from podium_shared.serving.describe import describe_deployment, service_endpoint
from podium_shared.serving.pool import PoolPod, plan_distribution, status
from podium_shared.serving.precheck import deploy_fit
from podium_shared.serving.schemas import DeployModelParams, DistributePoolParams
from podium_shared.serving.spec import resolve


def _authorise(session: Session, principal: Principal, cluster: str, namespace: str | None) -> None:
    get_cluster(session, cluster)
    if namespace is not None and not principal.can_access_namespace(namespace):
        raise Forbidden(f"you have no access to namespace {namespace!r}")


def _snapshot(redis: Any, cluster: str, kinds: list[str]) -> dict[str, list[dict[str, Any]]]:
    if snapshot_age(redis, cluster) is None:
        raise Unavailable(f"no watcher has streamed cluster {cluster!r} yet; try again shortly")
    _window, objects = read_snapshot(redis, cluster, kinds)
    return objects


def _matches(labels: dict[str, str] | None, selector: dict[str, str]) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _pool(
    session: Session, redis: Any, principal: Principal, cluster: str, *, namespace: str, name: str
) -> tuple[dict[str, Any], list[PoolPod], list[dict[str, Any]]]:
    _authorise(session, principal, cluster, namespace)
    objects = _snapshot(redis, cluster, ["deployments", "pods", "services"])
    dep = next(
        (
            d
            for d in objects["deployments"]
            if (d.get("metadata") or {}).get("namespace") == namespace
            and (d.get("metadata") or {}).get("name") == name
        ),
        None,
    )
    if dep is None:
        raise NotFound(f'deployment "{name}" not found in namespace "{namespace}"')
    if (dep["metadata"].get("labels") or {}).get(L.DEPLOYMENT_TYPE) != L.MODEL_POOL:
        raise Invalid(f'deployment "{name}" is not a model pool', code="not_a_pool")
    match = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    pods = [
        PoolPod.from_obj(p)
        for p in objects["pods"]
        if (p.get("metadata") or {}).get("namespace") == namespace
        and _matches((p.get("metadata") or {}).get("labels"), match)
    ]
    services = [s for s in objects["services"] if (s.get("metadata") or {}).get("namespace") == namespace]
    return dep, pods, services


def pool_status(
    session: Session, redis: Any, principal: Principal, cluster: str, *, namespace: str, name: str
) -> dict[str, Any]:
    dep, pods, services = _pool(session, redis, principal, cluster, namespace=namespace, name=name)
    return {"cluster": cluster, "deployment": describe_deployment(dep, services), **status(pods)}


def parse_targets(text: str) -> dict[str, int]:
    """`prod:3,test:1` → {"prod": 3, "test": 1} (query-string form of ratios or counts)."""
    out: dict[str, int] = {}
    for part in text.split(","):
        business, sep, number = part.partition(":")
        if not sep or not number.strip().isdigit() or not business.strip():
            raise Invalid(f"{part[:40]!r} is not business:N", details={"field": "targets"})
        out[business.strip()] = int(number)
    return out


def plan(
    session: Session,
    redis: Any,
    principal: Principal,
    cluster: str,
    *,
    namespace: str,
    name: str,
    ratios: str | None,
    counts: str | None,
    concurrency: int = 8,
) -> dict[str, Any]:
    """The fewest relabels from the snapshot, plus the `assign_pods` command that applies them as one bulk
    operation with a child per pod. Planning at accept time from the snapshot keeps the moves visible and
    cancellable one by one; each child re-checks its pod, so a plan gone stale fails item by item."""
    if (ratios is None) == (counts is None):
        raise Invalid("give exactly one of `ratios` or `counts`")
    try:
        params = DistributePoolParams.model_validate(
            {
                "namespace": namespace,
                "pool": name,
                "ratios": parse_targets(ratios) if ratios else None,
                "counts": parse_targets(counts) if counts else None,
                "concurrency": concurrency,
            }
        )
    except ValidationError as exc:
        raise Invalid(f"invalid distribution: {exc.errors()[0]['msg']}") from None
    _dep, pods, services = _pool(session, redis, principal, cluster, namespace=namespace, name=name)
    known = {
        str(((s.get("metadata") or {}).get("labels") or {}).get(L.BUSINESS))
        for s in services
        if ((s.get("metadata") or {}).get("labels") or {}).get(L.SERVICE_TYPE) == L.BUSINESS_SERVICE
    }
    missing = sorted(
        b for b in (params.ratios or params.counts or {}) if b not in L.RESERVED_BUSINESSES | known
    )
    if missing:
        raise Invalid(
            f"no business Service for {', '.join(missing)}; create it first",
            code="no_business_service",
            details={"missing": missing},
        )
    moves = plan_distribution(pods, ratios=params.ratios, counts=params.counts)
    command = None
    if moves:
        command = {
            "kind": "assign_pods",
            "cluster": cluster,
            "params": {
                "namespace": namespace,
                "moves": [{"pod": m.pod, "business": m.target} for m in moves],
                "concurrency": concurrency,
            },
        }
    return {
        "moves": [{"pod": m.pod, "from": m.source, "to": m.target} for m in moves],
        "command": command,
    }


def business_services(
    session: Session, redis: Any, principal: Principal, cluster: str, namespace: str | None = None
) -> list[dict[str, Any]]:
    _authorise(session, principal, cluster, namespace)
    objects = _snapshot(redis, cluster, ["services", "endpoints"])
    ready: dict[tuple[str, str], int] = {}
    for ep in objects["endpoints"]:
        meta = ep.get("metadata") or {}
        count = sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])
        ready[(str(meta.get("namespace")), str(meta.get("name")))] = count
    out = []
    for svc in objects["services"]:
        meta = svc.get("metadata") or {}
        labels = meta.get("labels") or {}
        ns = str(meta.get("namespace"))
        if labels.get(L.SERVICE_TYPE) != L.BUSINESS_SERVICE:
            continue
        if (namespace is not None and ns != namespace) or not principal.can_access_namespace(ns):
            continue
        endpoint = service_endpoint(svc)
        out.append(
            {
                "name": meta.get("name"),
                "namespace": ns,
                "business": labels.get(L.BUSINESS),
                "model": (meta.get("annotations") or {}).get(L.MODEL_ID_ANNOTATION) or labels.get(L.MODEL),
                "model_tag": labels.get(L.MODEL),
                "pool": (meta.get("annotations") or {}).get(L.POOL_ANNOTATION),
                "ready_pods": ready.get((ns, str(meta.get("name"))), 0),
                "address": endpoint["address"],
                "port": endpoint["port"],
                "scheme": endpoint["scheme"],
            }
        )
    return sorted(out, key=lambda s: (s["namespace"], str(s["name"])))


def find_service(
    session: Session, redis: Any, principal: Principal, cluster: str, *, namespace: str, name: str
) -> dict[str, Any]:
    _authorise(session, principal, cluster, namespace)
    for svc in _snapshot(redis, cluster, ["services"])["services"]:
        meta = svc.get("metadata") or {}
        if meta.get("namespace") == namespace and meta.get("name") == name:
            return svc
    raise NotFound(f'service "{name}" not found in namespace "{namespace}"')


def models(
    session: Session, redis: Any, principal: Principal, cluster: str, namespace: str | None = None
) -> list[dict[str, Any]]:
    """Serving deployments (standard and pools) the principal may see: type, engine, model, replicas
    ready/desired and the Services that reach them."""
    _authorise(session, principal, cluster, namespace)
    objects = _snapshot(redis, cluster, ["deployments", "services"])
    services: dict[str, list[dict[str, Any]]] = {}
    for svc in objects["services"]:
        services.setdefault(str((svc.get("metadata") or {}).get("namespace")), []).append(svc)
    out = []
    for dep in objects["deployments"]:
        ns = str((dep.get("metadata") or {}).get("namespace"))
        if (namespace is not None and ns != namespace) or not principal.can_access_namespace(ns):
            continue
        described = describe_deployment(dep, services.get(ns, []))
        if described["type"] is not None:
            out.append(described)
    return sorted(out, key=lambda m: (m["namespace"], str(m["name"])))


def parse_deploy(
    session: Session, redis: Any, principal: Principal, cluster: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """What `deploy_model` would make of these params, without queuing anything: the server's own
    command-line parser and accept-time capacity check. A line the parser refuses is a 422 with its
    message; a deployment that can never fit is `fits: false` with the reason among the warnings."""
    _authorise(session, principal, cluster, str(fields.get("namespace", "default")))
    try:
        params = DeployModelParams.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise Invalid(message, details={"field": "command_line", "errors": _safe(exc)}) from None
    spec = resolve(params, has_token=params.hf_token is not None)
    parsed = {k: v for k, v in asdict(spec).items() if k != "has_token"}
    parsed["engine"] = spec.engine.value
    needed = spec.gpus_per_replica * spec.replicas
    try:
        fit = deploy_fit(PrecheckContext(cluster=cluster, redis=redis), spec)
    except SnapshotMissing:
        warning = PrecheckContext(cluster=cluster, redis=None).no_snapshot_warning()
        return _parsed(parsed, [warning], None, needed)
    except Invalid as exc:
        if exc.code != "does_not_fit":
            raise
        return _parsed(parsed, [exc.message], False, needed)
    return {
        "params": parsed,
        "warnings": fit.warnings,
        "fits": not fit.warnings,
        "gpu": {"needed": fit.needed, "free_now": fit.free_now},
    }


def _safe(exc: ValidationError) -> list[dict[str, Any]]:
    # `input` may hold a token; the location and message suffice.
    return [{k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in exc.errors()]


def _parsed(params: dict[str, Any], warnings: list[str], fits: bool | None, needed: int) -> dict[str, Any]:
    return {"params": params, "warnings": warnings, "fits": fits, "gpu": {"needed": needed, "free_now": None}}
