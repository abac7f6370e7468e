"""`deploy_model` and `undeploy_model` against a cluster: Secret, then Deployment, then Service, all by
server-side apply (a retry converges); removal in the reverse order, Services first so traffic stops before
the pods go."""

from __future__ import annotations

from typing import Any

from podium_shared.cluster_state.capacity import check_fit
from podium_shared.errors import Conflict, Invalid
from podium_shared.kube.clients import ClusterClients
from podium_shared.serving import kube_ops
from podium_shared.serving import labels as L
from podium_shared.serving.manifests import (
    INSTANCE_TYPE_LABEL,
    NODE_GROUP_LABEL,
    build_deployment,
    build_secret,
    build_service,
)
from podium_shared.serving.naming import secret_name
from podium_shared.serving.schemas import DeployModelParams, UndeployModelParams
from podium_shared.serving.spec import ServingSpec, resolve


def node_selector(spec: ServingSpec) -> dict[str, str]:
    out = {}
    if spec.instance_type:
        out[INSTANCE_TYPE_LABEL] = spec.instance_type
    if spec.node_group:
        out[NODE_GROUP_LABEL] = spec.node_group
    return out


def precheck(kube: ClusterClients, spec: ServingSpec) -> list[str]:
    nodes = kube_ops.list_cluster(kube, "/api/v1/nodes")
    pods = kube_ops.list_cluster(kube, "/api/v1/pods")
    # Our own pods (a retried deploy) already hold their GPUs; do not count them against us.
    pods = [
        p
        for p in pods
        if not (
            (p.get("metadata") or {}).get("namespace") == spec.namespace
            and ((p.get("metadata") or {}).get("labels") or {}).get(L.APP_INSTANCE) == spec.name
        )
    ]
    return check_fit(
        nodes=nodes,
        pods=pods,
        gpus_per_replica=spec.gpus_per_replica,
        replicas=spec.replicas,
        node_selector=node_selector(spec),
    )


def deploy_model(kube: ClusterClients, params: DeployModelParams, *, hf_token: str | None) -> dict[str, Any]:
    spec = resolve(params, has_token=bool(hf_token))
    existing = kube_ops.get(kube, "Deployment", spec.namespace, spec.name)
    if existing is not None:
        labels = existing["metadata"].get("labels") or {}
        if labels.get(L.MODEL) != spec.tag or labels.get(L.APP_MANAGED_BY) != L.MANAGED_BY_PODIUM:
            raise Conflict(
                f'deployment "{spec.name}" already exists in "{spec.namespace}" and is not this model; '
                "choose another name",
                code="name_taken",
            )
    warnings = precheck(kube, spec)
    secret = spec.secret_name
    if hf_token and secret:
        kube_ops.apply(
            kube, build_secret(name=secret, namespace=spec.namespace, deployment=spec.name, token=hf_token)
        )
    kube_ops.apply(kube, build_deployment(spec))
    service = None
    if not spec.pool:
        service = kube_ops.apply(kube, build_service(spec))["metadata"]["name"]
    return {
        "name": spec.name,
        "namespace": spec.namespace,
        "engine": spec.engine.value,
        "model": spec.model,
        "model_tag": spec.tag,
        "type": "pool" if spec.pool else "standard",
        "replicas": spec.replicas,
        "gpus_per_replica": spec.gpus_per_replica,
        "service": service,
        "secret": secret,  # the Secret's name, never its value
        "warnings": warnings,
    }


def undeploy_model(kube: ClusterClients, params: UndeployModelParams) -> dict[str, Any]:
    ns, name = params.namespace, params.name
    dep = kube_ops.get(kube, "Deployment", ns, name)
    if dep is not None:
        labels = dep["metadata"].get("labels") or {}
        if labels.get(L.APP_MANAGED_BY) != L.MANAGED_BY_PODIUM or not labels.get(L.MODEL):
            raise Invalid(
                f'deployment "{name}" is not a model deployment managed by Podium', code="not_managed"
            )
        if labels.get(L.DEPLOYMENT_TYPE) == L.MODEL_POOL and not params.force:
            match = (dep.get("spec") or {}).get("selector", {}).get("matchLabels") or {}
            pods = kube_ops.list_objects(kube, "Pod", ns, selector=L.label_selector(match))
            assigned: dict[str, int] = {}
            for p in pods:
                business = ((p.get("metadata") or {}).get("labels") or {}).get(L.BUSINESS, L.UNASSIGNED)
                if business != L.UNASSIGNED:
                    assigned[business] = assigned.get(business, 0) + 1
            if assigned:
                summary = ", ".join(f"{b}: {n}" for b, n in sorted(assigned.items()))
                raise Conflict(
                    f'pool "{name}" still has assigned pods ({summary}); '
                    "undeploy with force to remove it anyway",
                    code="pool_in_use",
                    details={"assigned": assigned},
                )
    # By label, so a retry after a partial undeploy (Deployment already gone) still finds the rest.
    services = kube_ops.list_objects(kube, "Service", ns, selector=L.label_selector({L.APP_INSTANCE: name}))
    deleted: dict[str, list[str]] = {"services": [], "deployment": [], "secret": []}
    for svc in services:
        if ((svc.get("metadata") or {}).get("labels") or {}).get(L.APP_MANAGED_BY) != L.MANAGED_BY_PODIUM:
            continue
        if kube_ops.delete(kube, "Service", ns, svc["metadata"]["name"]):
            deleted["services"].append(svc["metadata"]["name"])
    if kube_ops.delete(kube, "Deployment", ns, name):
        deleted["deployment"].append(name)
    if kube_ops.delete(kube, "Secret", ns, secret_name(name)):
        deleted["secret"].append(secret_name(name))
    return {"name": name, "namespace": ns, "deleted": deleted, "existed": dep is not None}
