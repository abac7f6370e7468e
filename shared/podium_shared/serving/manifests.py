"""Kubernetes objects for model serving, built as plain dicts and sent through the API (never YAML text).

Selectors are chosen so relabelling a pool pod's `business` never orphans it: the Deployment selects on
the instance and the model only, while business Services select `model` + `business`."""

from __future__ import annotations

import base64
from typing import Any

from podium_shared.serving import labels as L
from podium_shared.serving.engines import (
    HF_TOKEN_KEY,
    SHM_SIZE,
    engine_args,
    engine_spec,
    env,
    lifecycle,
    probes,
)
from podium_shared.serving.naming import business_service_name, service_name
from podium_shared.serving.schemas import Scheme
from podium_shared.serving.spec import ServingSpec

GPU_RESOURCE = "nvidia.com/gpu"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
NODE_GROUP_LABEL = "eks.amazonaws.com/nodegroup"
SERVICE_PORT = 8000


def nlb_annotations(scheme: Scheme) -> dict[str, str]:
    return {L.NLB_TYPE: "external", L.NLB_TARGET_TYPE: "ip", L.NLB_SCHEME: scheme}


def _pod_labels(spec: ServingSpec) -> dict[str, str]:
    out = L.common_labels(instance=spec.name, component="inference")
    out.update({L.MODEL: spec.tag, L.ENGINE: spec.engine.value})
    if spec.pool:
        out.update({L.DEPLOYMENT_TYPE: L.MODEL_POOL, L.BUSINESS: L.UNASSIGNED})
    else:
        out[L.DEPLOYMENT_TYPE] = L.STANDARD
    return out


def _selector(spec: ServingSpec) -> dict[str, str]:
    # Never `business`: a relabelled pod must stay owned by its ReplicaSet.
    return {L.APP_INSTANCE: spec.name, L.MODEL: spec.tag}


def _annotations(spec: ServingSpec) -> dict[str, str]:
    return {L.MODEL_ID_ANNOTATION: spec.model, L.GPUS_ANNOTATION: str(spec.gpus_per_replica)}


def build_deployment(spec: ServingSpec) -> dict[str, Any]:
    engine = engine_spec(spec.engine)
    container: dict[str, Any] = {
        "name": "engine",
        "image": engine.image,
        "command": list(engine.command),
        "args": engine_args(
            engine,
            model=spec.model,
            port=spec.port,
            tensor_parallel=spec.tensor_parallel,
            pipeline_parallel=spec.pipeline_parallel,
            max_model_len=spec.max_model_len,
            served_model_name=spec.served_model_name,
            extra_args=spec.extra_args,
        ),
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        **probes(engine, spec.port, spec.model),
    }
    container_env = env(engine, model=spec.model, secret=spec.secret_name)
    if container_env:
        container["env"] = container_env
    hook = lifecycle(engine, spec.model)
    if hook:
        container["lifecycle"] = hook
    pod_spec: dict[str, Any] = {"containers": [container]}
    if spec.gpus_per_replica > 0:
        gpus = str(spec.gpus_per_replica)
        container["resources"] = {"limits": {GPU_RESOURCE: gpus}, "requests": {GPU_RESOURCE: gpus}}
        pod_spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    if spec.gpus_per_replica > 1:
        # NCCL exchanges tensors through /dev/shm; the container default (64 MiB) deadlocks multi-GPU runs.
        pod_spec["volumes"] = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}}]
        container["volumeMounts"] = [{"name": "dshm", "mountPath": "/dev/shm"}]  # noqa: S108 - in the pod
    selector: dict[str, str] = {}
    if spec.instance_type:
        selector[INSTANCE_TYPE_LABEL] = spec.instance_type
    if spec.node_group:
        selector[NODE_GROUP_LABEL] = spec.node_group
    if selector:
        pod_spec["nodeSelector"] = selector
    deployment_labels = L.common_labels(instance=spec.name, component="inference")
    deployment_labels.update(
        {
            L.MODEL: spec.tag,
            L.ENGINE: spec.engine.value,
            L.DEPLOYMENT_TYPE: L.MODEL_POOL if spec.pool else L.STANDARD,
        }
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": deployment_labels,
            "annotations": _annotations(spec),
        },
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": _selector(spec)},
            # A new pod must be ready before an old one goes, so a rollout never drops capacity.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": _pod_labels(spec), "annotations": _annotations(spec)},
                "spec": pod_spec,
            },
        },
    }


def build_service(spec: ServingSpec) -> dict[str, Any]:
    """The LoadBalancer of a standard deployment (pools get business Services instead)."""
    labels = L.common_labels(instance=spec.name, component="endpoint")
    labels.update({L.MODEL: spec.tag, L.SERVICE_TYPE: L.MODEL_SERVICE})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(spec.name),
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": {**nlb_annotations(spec.scheme), L.MODEL_ID_ANNOTATION: spec.model},
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": _selector(spec),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def build_business_service(
    *,
    namespace: str,
    pool: str,
    model_tag: str,
    model_id: str,
    business: str,
    scheme: Scheme,
    name: str | None = None,
) -> dict[str, Any]:
    labels = L.common_labels(instance=pool, component="business-endpoint")
    labels.update({L.MODEL: model_tag, L.BUSINESS: business, L.SERVICE_TYPE: L.BUSINESS_SERVICE})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name or business_service_name(pool, business),
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                **nlb_annotations(scheme),
                L.MODEL_ID_ANNOTATION: model_id,
                L.POOL_ANNOTATION: pool,
            },
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": L.business_selector(model_tag, business),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def build_secret(*, name: str, namespace: str, deployment: str, token: str) -> dict[str, Any]:
    labels = L.common_labels(instance=deployment, component="credentials")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "type": "Opaque",
        "data": {HF_TOKEN_KEY: base64.b64encode(token.encode()).decode()},
    }
