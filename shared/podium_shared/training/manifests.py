"""Kubernetes objects for training jobs and model downloads, built as plain dicts (never YAML text).

User strings only ever become argv elements or environment values. Kubernetes still expands `$(VAR)` in
`command`, `args` and env `value`s, so every `$` we emit is doubled (`$$` is its escape for a literal `$`):
what the container receives is exactly what the user typed."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from podium_shared.kube.resources import literal
from podium_shared.training import labels as L
from podium_shared.training.llamafactory import launcher, train_args
from podium_shared.training.schemas import (
    MODELS_MOUNT,
    DownloadModelParams,
    JobType,
    SubmitTrainingJobParams,
)

GPU = "nvidia.com/gpu"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
HF_TOKEN_KEY = "token"  # noqa: S105 - the key name inside the Secret, not a value
SHM_SIZE = "16Gi"
CONTAINER = "pytorch"  # the Kubeflow operator requires this name; HyperPod follows the same convention
DOWNLOAD_CONTAINER = "download"

API = {
    JobType.pytorchjob: ("kubeflow.org/v1", "PyTorchJob"),
    JobType.hyperpod: ("sagemaker.amazonaws.com/v1", "HyperPodPyTorchJob"),
}


def secret_name(job: str) -> str:
    return f"{job}-hf-token"


@dataclass(frozen=True)
class JobContext:
    """What the manifest needs besides the params: where it came from and the cluster's defaults."""

    cluster: str
    operation_id: str
    default_image: str
    models_pvc: str
    mlflow_tracking_uri: str | None


def mlflow_tags(p: SubmitTrainingJobParams, ctx: JobContext) -> dict[str, str]:
    """The run's tags: the training-history table's columns, then Podium's links back to the job."""
    tags: dict[str, str] = {}
    lf = p.llamafactory
    if lf is not None:
        tags |= {"model": lf.model, "dataset": lf.dataset}
    tags |= {
        "instance_type": p.instance_type or "",
        "replica_count": str(p.replicas),
        "proc_per_node": str(p.procs_per_node),
    }
    if lf is not None:
        tags |= {
            "batch_size": str(lf.batch_size),
            "cutoff_len": str(lf.cutoff_len),
            "deepspeed_conf": lf.deepspeed.value,
        }
    tags |= {
        "podium.cluster": ctx.cluster,
        "podium.namespace": p.namespace,
        "podium.job": p.name,
        "podium.job_type": p.type.value,
        "podium.operation_id": ctx.operation_id,
    }
    return tags


def _env(p: SubmitTrainingJobParams, ctx: JobContext, secret: str | None) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(p.env.items())]
    if secret:
        ref = {"secretKeyRef": {"name": secret, "key": HF_TOKEN_KEY}}
        env += [{"name": "HF_TOKEN", "valueFrom": ref}, {"name": "HUGGING_FACE_HUB_TOKEN", "valueFrom": ref}]
    if p.mlflow_experiment:
        # Read by transformers' MLflowCallback (LLaMA-Factory reports through it); MLFLOW_RUN_NAME is for
        # custom commands (LLaMA-Factory gets --run_name).
        env += [
            {"name": "MLFLOW_TRACKING_URI", "value": ctx.mlflow_tracking_uri or ""},
            {"name": "MLFLOW_EXPERIMENT_NAME", "value": p.mlflow_experiment},
            {"name": "MLFLOW_TAGS", "value": json.dumps(mlflow_tags(p, ctx), sort_keys=True)},
            {"name": "MLFLOW_FLATTEN_PARAMS", "value": "1"},
        ]
        if p.mlflow_run_name:
            env.append({"name": "MLFLOW_RUN_NAME", "value": p.mlflow_run_name})
    env.append({"name": "PYTHONUNBUFFERED", "value": "1"})
    return [{**e, "value": literal(e["value"])} if "value" in e else e for e in env]


def settings_summary(p: SubmitTrainingJobParams, ctx: JobContext) -> dict[str, Any]:
    """What `describe` shows as the job's settings (never the token)."""
    out: dict[str, Any] = {
        "type": p.type.value,
        "image": p.image or ctx.default_image,
        "instance_type": p.instance_type,
        "replicas": p.replicas,
        "procs_per_node": p.procs_per_node,
        "mlflow_experiment": p.mlflow_experiment,
        "mlflow_run_name": p.mlflow_run_name,
        "hf_token": bool(p.hf_token),
    }
    if p.llamafactory is not None:
        lf = p.llamafactory
        out["llamafactory"] = {
            **lf.model_dump(mode="json", exclude={"output_dir"}),
            "output_dir": lf.resolved_output_dir(p.name),
        }
    else:
        out["command"] = list(p.command or [])
    return out


def container_argv(p: SubmitTrainingJobParams) -> tuple[list[str], list[str]]:
    if p.llamafactory is None:
        return list(p.command or []), []
    lf = p.llamafactory
    args = train_args(
        lf,
        output_dir=lf.resolved_output_dir(p.name),
        run_name=p.mlflow_run_name,
        report_to_mlflow=bool(p.mlflow_experiment),
    )
    return launcher(p.type, nodes=p.replicas, procs_per_node=p.procs_per_node), args


def _pod_template(p: SubmitTrainingJobParams, ctx: JobContext, secret: str | None) -> dict[str, Any]:
    command, args = container_argv(p)
    gpus = str(p.procs_per_node)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": p.image or ctx.default_image,
        "command": [literal(a) for a in command],
        "env": _env(p, ctx, secret),
        "resources": {"requests": {GPU: gpus}, "limits": {GPU: gpus}},
        "volumeMounts": [
            {"name": "models", "mountPath": MODELS_MOUNT},
            # NCCL exchanges tensors through /dev/shm; the container default (64 MiB) stalls multi-GPU runs.
            {"name": "dshm", "mountPath": "/dev/shm"},  # noqa: S108 - a path in the pod
        ],
    }
    if args:
        container["args"] = [literal(a) for a in args]
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}],
        "volumes": [
            {"name": "models", "persistentVolumeClaim": {"claimName": ctx.models_pvc}},
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}},
        ],
    }
    if p.instance_type:
        spec["nodeSelector"] = {INSTANCE_TYPE_LABEL: p.instance_type}
    labels = L.common_labels(instance=p.name, component=L.TRAINING)
    labels[L.TRAINING_JOB] = p.name
    return {"metadata": {"labels": labels}, "spec": spec}


def build_training_job(p: SubmitTrainingJobParams, ctx: JobContext, *, secret: str | None) -> dict[str, Any]:
    api_version, kind = API[p.type]
    template = _pod_template(p, ctx, secret)
    labels = L.common_labels(instance=p.name, component=L.TRAINING)
    labels[L.TRAINING_JOB] = p.name
    annotations = {
        L.SETTINGS: json.dumps(settings_summary(p, ctx), sort_keys=True, separators=(",", ":")),
        L.OPERATION: ctx.operation_id,
    }
    if p.llamafactory is not None:
        annotations[L.MODEL_ID] = p.llamafactory.model
    spec: dict[str, Any]
    if p.type is JobType.pytorchjob:
        replica_specs: dict[str, Any] = {
            "Master": {"replicas": 1, "restartPolicy": "Never", "template": template}
        }
        if p.replicas > 1:
            replica_specs["Worker"] = {
                "replicas": p.replicas - 1, "restartPolicy": "Never", "template": template,
            }  # fmt: skip
        spec = {
            "nprocPerNode": str(p.procs_per_node),
            # Pods stay after the job ends, so their logs and exit reasons can still be read.
            "runPolicy": {"cleanPodPolicy": "None", "backoffLimit": 0},
            "pytorchReplicaSpecs": replica_specs,
        }
    else:
        spec = {
            "nprocPerNode": str(p.procs_per_node),
            "runPolicy": {"cleanPodPolicy": "None", "jobMaxRetryCount": 0},
            "replicaSpecs": [{"name": "pods", "replicas": p.replicas, "template": template}],
        }
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": p.name, "namespace": p.namespace, "labels": labels, "annotations": annotations},
        "spec": spec,
    }


def build_token_secret(*, name: str, namespace: str, owner: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": L.common_labels(instance=owner, component=L.CREDENTIALS),
        },
        "type": "Opaque",
        "data": {HF_TOKEN_KEY: base64.b64encode(token.encode()).decode()},
    }


def owner_reference(obj: dict[str, Any]) -> dict[str, Any]:
    """Makes the Secret go with its job when the job is deleted by anyone (kubectl included)."""
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"], "uid": meta["uid"],
        "blockOwnerDeletion": False,
    }  # fmt: skip


# --- model downloads -----------------------------------------------------------------------------------


def download_name(model: str, revision: str) -> str:
    """`dl-<slug>-<hash>`: readable, and distinct for ids that slug alike or differ only in revision."""
    digest = hashlib.sha256(f"{model}@{revision}".encode()).hexdigest()[:6]
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")[:24].rstrip("-")
    return f"dl-{slug}-{digest}" if slug else f"dl-{digest}"


def local_dir(model: str) -> str:
    return f"{MODELS_MOUNT}/{model}"


def build_download_job(
    p: DownloadModelParams, *, name: str, image: str, pvc: str, secret: str | None
) -> dict[str, Any]:
    target = local_dir(p.model)
    env: list[dict[str, Any]] = [
        {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    if secret:
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": secret, "key": HF_TOKEN_KEY}}})
    command = [
        "uvx", "--from", "huggingface_hub[cli]", "huggingface-cli", "download", p.model,
        "--revision", p.revision, "--local-dir", target,
    ]  # fmt: skip
    job_labels = L.common_labels(instance=name, component=L.DOWNLOAD) | {L.WORKLOAD: L.DOWNLOAD}
    pod_labels = job_labels | {L.DOWNLOAD_JOB: name}
    annotations = {L.MODEL_ID: p.model, L.REVISION: p.revision, L.LOCAL_DIR: target, L.PVC: pvc}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": p.namespace,
            "labels": job_labels,
            "annotations": annotations,
        },
        "spec": {
            "backoffLimit": 2,
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": DOWNLOAD_CONTAINER,
                            "image": image,
                            "command": [literal(a) for a in command],
                            "env": [{**e, "value": literal(e["value"])} if "value" in e else e for e in env],
                            "volumeMounts": [{"name": "models", "mountPath": MODELS_MOUNT}],
                        }
                    ],
                    "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": pvc}}],
                },
            },
        },
    }
