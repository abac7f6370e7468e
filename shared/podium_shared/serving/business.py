"""Business Services: a LoadBalancer selecting `model=<tag>, business=<name>` of one pool."""

from __future__ import annotations

from typing import Any

from podium_shared.errors import Conflict, Invalid
from podium_shared.kube.clients import ClusterClients
from podium_shared.serving import kube_ops
from podium_shared.serving import labels as L
from podium_shared.serving.assign import pool_deployment
from podium_shared.serving.manifests import build_business_service
from podium_shared.serving.schemas import CreateBusinessServiceParams, DeleteBusinessServiceParams


def create_business_service(kube: ClusterClients, params: CreateBusinessServiceParams) -> dict[str, Any]:
    dep = pool_deployment(kube, params.namespace, params.pool)
    meta = dep["metadata"]
    tag = meta["labels"][L.MODEL]
    model_id = (meta.get("annotations") or {}).get(L.MODEL_ID_ANNOTATION, tag)
    svc = build_business_service(
        namespace=params.namespace,
        pool=params.pool,
        model_tag=tag,
        model_id=model_id,
        business=params.business,
        scheme=params.scheme,
        name=params.name,
    )
    name = svc["metadata"]["name"]
    existing = kube_ops.get(kube, "Service", params.namespace, name)
    if existing is not None and (existing.get("spec") or {}).get("selector") != svc["spec"]["selector"]:
        raise Conflict(f'service "{name}" already exists and selects other pods; choose another name')
    applied = kube_ops.apply(kube, svc)
    return {
        "service": applied["metadata"]["name"],
        "namespace": params.namespace,
        "pool": params.pool,
        "business": params.business,
        "model_tag": tag,
        "scheme": params.scheme,
    }


def delete_business_service(kube: ClusterClients, params: DeleteBusinessServiceParams) -> dict[str, Any]:
    svc = kube_ops.get(kube, "Service", params.namespace, params.name)
    if svc is None:
        return {"service": params.name, "namespace": params.namespace, "deleted": False}
    labels = (svc.get("metadata") or {}).get("labels") or {}
    if labels.get(L.SERVICE_TYPE) != L.BUSINESS_SERVICE:
        raise Invalid(f'service "{params.name}" is not a business Service', code="not_a_business_service")
    kube_ops.delete(kube, "Service", params.namespace, params.name)
    # Pods keep their business label: recreating the Service restores traffic, and nothing is moved
    # without being asked. The count tells the operator what is now unreachable.
    selector = L.label_selector({L.MODEL: labels.get(L.MODEL, ""), L.BUSINESS: labels.get(L.BUSINESS, "")})
    stranded = len(kube_ops.list_objects(kube, "Pod", params.namespace, selector=selector))
    return {
        "service": params.name,
        "namespace": params.namespace,
        "deleted": True,
        "business": labels.get(L.BUSINESS),
        "pods_still_labelled": stranded,
    }
