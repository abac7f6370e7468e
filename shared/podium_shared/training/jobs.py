"""`submit_training_job` and `delete_training_job` against a cluster.

Submit: the token Secret, then the job, both by server-side apply (a retried attempt converges on the
same objects), then the Secret is owned by the job so it goes with it however the job is deleted. A job of
that name that another submission created is a conflict, never overwritten. The GPU check is repeated on
the live cluster (the accept-time one read the watcher's snapshot)."""

from __future__ import annotations

from typing import Any

from podium_shared.cluster_state.capacity import check_fit
from podium_shared.errors import Conflict, Invalid, NotFound
from podium_shared.kube import objects
from podium_shared.kube.clients import ClusterClients
from podium_shared.training import labels as L
from podium_shared.training.manifests import (
    API,
    INSTANCE_TYPE_LABEL,
    JobContext,
    build_token_secret,
    build_training_job,
    mlflow_tags,
    owner_reference,
    secret_name,
)
from podium_shared.training.schemas import DeleteTrainingJobParams, JobType, SubmitTrainingJobParams


def node_selector(p: SubmitTrainingJobParams) -> dict[str, str]:
    return {INSTANCE_TYPE_LABEL: p.instance_type} if p.instance_type else {}


def own_pods_selector(name: str) -> str:
    return f"{L.TRAINING_JOB}={name}"


def check_gpus(kube: ClusterClients, p: SubmitTrainingJobParams) -> list[str]:
    nodes = objects.list_objects(kube, "Node", None)
    pods = [
        pod
        for pod in objects.list_objects(kube, "Pod", None)
        if not (
            pod["metadata"].get("namespace") == p.namespace
            and (pod["metadata"].get("labels") or {}).get(L.TRAINING_JOB) == p.name
        )
    ]
    return check_fit(
        nodes=nodes,
        pods=pods,
        gpus_per_replica=p.procs_per_node,
        replicas=p.replicas,
        node_selector=node_selector(p),
    )


def submit_training_job(
    kube: ClusterClients, p: SubmitTrainingJobParams, ctx: JobContext, *, hf_token: str | None
) -> dict[str, Any]:
    kind = API[p.type][1]
    existing = objects.get(kube, kind, p.namespace, p.name)
    if existing is not None:
        annotations = existing["metadata"].get("annotations") or {}
        if not L.is_managed(existing) or annotations.get(L.OPERATION) != ctx.operation_id:
            raise Conflict(
                f'{kind} "{p.name}" already exists in "{p.namespace}"; '
                "delete it first or choose another name",
                code="name_taken",
            )
    if p.mlflow_experiment and not ctx.mlflow_tracking_uri:
        raise Invalid(
            "an MLflow experiment was given but no tracking URI is configured "
            "(PODIUM_TRAINING_MLFLOW_TRACKING_URI or MLFLOW_TRACKING_URI)",
            code="mlflow_not_configured",
        )
    warnings = check_gpus(kube, p)
    secret = secret_name(p.name) if hf_token else None
    if secret and hf_token:
        objects.apply(
            kube, build_token_secret(name=secret, namespace=p.namespace, owner=p.name, token=hf_token)
        )
    try:
        job = objects.apply(kube, build_training_job(p, ctx, secret=secret))
    except NotFound:
        operator = (
            "Kubeflow training operator" if p.type is JobType.pytorchjob else "HyperPod training operator"
        )
        raise Invalid(
            f'cannot create {kind} "{p.name}": namespace "{p.namespace}" does not exist, or the cluster does '
            f"not serve {API[p.type][0]} (is the {operator} installed?)",
            code="cannot_create",
        ) from None
    if secret:
        objects.merge_patch(
            kube, "Secret", p.namespace, secret, {"metadata": {"ownerReferences": [owner_reference(job)]}}
        )
    return {
        "name": p.name,
        "namespace": p.namespace,
        "type": p.type.value,
        "kind": kind,
        # The workload uid: pods point at it in their ownerReferences, metrics and logs are keyed by it.
        "uid": job["metadata"]["uid"],
        "secret": secret,  # the Secret's name, never its value
        "mlflow": {
            "experiment": p.mlflow_experiment,
            "run_name": p.mlflow_run_name,
            "tags": mlflow_tags(p, ctx),
        }
        if p.mlflow_experiment
        else None,
        "warnings": warnings,
    }


def delete_training_job(kube: ClusterClients, p: DeleteTrainingJobParams) -> dict[str, Any]:
    """The job (its pods and master Service are garbage-collected with it) and its token Secret. Kept logs
    and metrics are Podium's, not the cluster's, and stay."""
    types = [p.type] if p.type is not None else list(JobType)
    deleted: dict[str, list[str]] = {"job": [], "secret": []}
    # The Secret first: it is owned by the job, so after the job it could already be garbage-collected
    # and the result would depend on timing.
    secret = objects.get(kube, "Secret", p.namespace, secret_name(p.name))
    if (
        secret is not None
        and L.is_managed(secret)
        and objects.delete(kube, "Secret", p.namespace, secret_name(p.name))
    ):
        deleted["secret"].append(secret_name(p.name))
    uid = None
    for t in types:
        kind = API[t][1]
        job = objects.get(kube, kind, p.namespace, p.name)
        if job is not None:
            uid = job["metadata"].get("uid")
        if objects.delete(kube, kind, p.namespace, p.name):
            deleted["job"].append(kind)
    return {"name": p.name, "namespace": p.namespace, "uid": uid, "deleted": deleted}
