"""Filtered, paginated lists from the snapshot: what `GET /api/v1/clusters/{cluster}/{kind}` returns.

Every read is one MULTI against Redis (the kinds it needs plus the snapshot's freshness); the cluster is
never called per request. Items carry a short summary for tables (services: external address and ready
endpoints; deployments: desired/ready and whether they are a model pool) next to the object itself."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from podium_shared.errors import Invalid
from podium_shared.kube.selectors import parse_field_selector, parse_label_selector
from podium_shared.realtime.keys import meta_key, state_key
from podium_shared.realtime.resources import TRAINING_KINDS
from podium_shared.realtime.state import decode_hash, object_key

# What the read API serves, and the snapshot kinds behind each.
READABLE: dict[str, tuple[str, ...]] = {
    "pods": ("pods",),
    "services": ("services",),
    "deployments": ("deployments",),
    "jobs": ("jobs",),
    "trainingjobs": TRAINING_KINDS,
    "events": ("events",),
    "nodes": ("nodes",),
}
MAX_LIMIT = 1000
POOL_LABEL = ("deployment-type", "model-pool")


class ObjectPage(BaseModel):
    cluster: str
    kind: str
    items: list[dict[str, Any]]
    total: int  # matching objects across all pages
    continue_: str | None = Field(None, alias="continue")  # pass back as `continue` for the next page
    snapshot_age_seconds: float | None

    model_config = ConfigDict(populate_by_name=True)


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("invalid continue token") from exc


def _service_summary(svc: dict[str, Any], endpoints: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = [i.get("hostname") or i.get("ip") for i in ingress if i.get("hostname") or i.get("ip")]
    ep = endpoints.get(object_key(svc)) or {}
    ready = [
        {"ip": a.get("ip"), "pod": (a.get("targetRef") or {}).get("name")}
        for subset in ep.get("subsets") or []
        for a in subset.get("addresses") or []
    ]
    not_ready = sum(len(s.get("notReadyAddresses") or []) for s in ep.get("subsets") or [])
    return {
        "type": spec.get("type", "ClusterIP"),
        "clusterIP": spec.get("clusterIP"),
        "externalAddress": external[0] if external else None,
        "ports": spec.get("ports") or [],
        "selector": spec.get("selector") or {},
        "readyEndpoints": ready,
        "notReadyEndpoints": not_ready,
    }


def _deployment_summary(dep: dict[str, Any]) -> dict[str, Any]:
    spec = dep.get("spec") or {}
    status = dep.get("status") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    return {
        "desired": spec.get("replicas", 1),
        "ready": status.get("readyReplicas", 0),
        "available": status.get("availableReplicas", 0),
        "updated": status.get("updatedReplicas", 0),
        "modelPool": template_labels.get(POOL_LABEL[0]) == POOL_LABEL[1],
        "model": template_labels.get("model"),
    }


def _pod_summary(pod: dict[str, Any]) -> dict[str, Any]:
    status = pod.get("status") or {}
    ready = next(
        (c.get("status") == "True" for c in status.get("conditions") or [] if c.get("type") == "Ready"), False
    )
    return {"phase": status.get("phase"), "node": (pod.get("spec") or {}).get("nodeName"),
            "podIP": status.get("podIP"), "ready": ready}  # fmt: skip


def _item(kind: str, obj: dict[str, Any], endpoints: dict[str, dict[str, Any]]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    item: dict[str, Any] = {
        "name": meta.get("name"), "namespace": meta.get("namespace"), "kind": obj.get("kind"),
        "labels": meta.get("labels") or {}, "createdAt": meta.get("creationTimestamp"),
    }  # fmt: skip
    if kind == "services":
        item["summary"] = _service_summary(obj, endpoints)
    elif kind == "deployments":
        item["summary"] = _deployment_summary(obj)
    elif kind == "pods":
        item["summary"] = _pod_summary(obj)
    item["object"] = obj
    return item


def list_objects(
    redis: Any,
    cluster: str,
    kind: str,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
    field_selector: str | None = None,
    limit: int = 100,
    continue_token: str | None = None,
    can_see_namespace: Callable[[str | None], bool] = lambda _ns: True,
) -> ObjectPage:
    if kind not in READABLE:
        raise Invalid(f"unknown kind {kind!r}; one of {', '.join(READABLE)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector)
    after = _decode(continue_token) if continue_token else None

    kinds = READABLE[kind]
    pipe = redis.pipeline(transaction=True)
    for k in kinds:
        pipe.hgetall(state_key(cluster, k))
    if kind == "services":
        pipe.hgetall(state_key(cluster, "endpoints"))
    pipe.hget(meta_key(cluster), "fresh_at")
    results = pipe.execute()
    fresh = results[-1]
    endpoints = {object_key(e): e for e in decode_hash(results[len(kinds)])} if kind == "services" else {}

    matching: list[tuple[str, dict[str, Any]]] = []
    for raw in results[: len(kinds)]:
        for obj in decode_hash(raw):
            meta = obj.get("metadata") or {}
            ns = meta.get("namespace")
            # Cluster-scoped objects (nodes) have no namespace; can_see_namespace(None) decides for them.
            if namespace is not None and ns != namespace:
                continue
            if not can_see_namespace(ns):
                continue
            if not labels.matches(meta.get("labels")) or not fields.matches(obj):
                continue
            matching.append((f"{obj.get('kind', '')}|{object_key(obj)}", obj))
    matching.sort(key=lambda kv: kv[0])
    start = 0
    if after is not None:
        start = next((i for i, (k, _) in enumerate(matching) if k > after), len(matching))
    page = matching[start : start + limit]
    more = start + limit < len(matching)
    return ObjectPage.model_validate(
        {
            "cluster": cluster,
            "kind": kind,
            "items": [_item(kind, obj, endpoints) for _, obj in page],
            "total": len(matching),
            "continue": _encode(page[-1][0]) if more and page else None,
            "snapshot_age_seconds": None if fresh is None else max(0.0, time.time() - float(fresh)),
        }
    )
