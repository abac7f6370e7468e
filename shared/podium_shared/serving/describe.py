"""What the deployments list shows for a serving Deployment: type, engine, model, replicas, endpoints.

Used by the watcher's snapshot read (`GET …/deployments`) and by the serving reads; works on the dict form of
any Deployment, including ones Podium did not create (they describe as `type: None`)."""

from __future__ import annotations

from typing import Any

from podium_shared.serving import labels as L
from podium_shared.serving.engines import EngineName


def _engine_from_image(obj: dict[str, Any]) -> str | None:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for c in containers:
        image = str(c.get("image") or "").lower()
        for engine in EngineName:
            if engine.value in image:
                return engine.value
    return None


def deployment_type(obj: dict[str, Any]) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    template = ((((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
    kind = labels.get(L.DEPLOYMENT_TYPE) or template.get(L.DEPLOYMENT_TYPE)
    if kind == L.MODEL_POOL:
        return "pool"
    if kind == L.STANDARD or labels.get(L.MODEL):
        return "standard"
    return None


def service_endpoint(svc: dict[str, Any]) -> dict[str, Any]:
    meta = svc.get("metadata") or {}
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = [i.get("hostname") or i.get("ip") for i in ingress]
    address = next((a for a in addresses if a), None)
    ports = [p.get("port") for p in spec.get("ports") or []]
    return {
        "service": meta.get("name"),
        "business": (meta.get("labels") or {}).get(L.BUSINESS),
        "type": spec.get("type"),
        "scheme": (meta.get("annotations") or {}).get(L.NLB_SCHEME),
        "address": address,
        "port": ports[0] if ports else None,
    }


def describe_deployment(obj: dict[str, Any], services: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`services`: the Services of the same namespace, if known; the ones selecting this model are listed."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    tag = labels.get(L.MODEL)
    endpoints = []
    for svc in services or []:
        selector = (svc.get("spec") or {}).get("selector") or {}
        same_ns = (svc.get("metadata") or {}).get("namespace") in (None, meta.get("namespace"))
        if tag and same_ns and selector.get(L.MODEL) == tag:
            endpoints.append(service_endpoint(svc))
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "type": deployment_type(obj),
        "engine": labels.get(L.ENGINE) or _engine_from_image(obj),
        "model": annotations.get(L.MODEL_ID_ANNOTATION) or tag,
        "model_tag": tag,
        "gpus_per_replica": _int(annotations.get(L.GPUS_ANNOTATION)),
        "replicas": spec.get("replicas", 0),
        "ready": status.get("readyReplicas", 0) or 0,
        "managed_by_podium": labels.get(L.APP_MANAGED_BY) == L.MANAGED_BY_PODIUM,
        "endpoints": sorted(endpoints, key=lambda e: str(e["service"])),
    }


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
