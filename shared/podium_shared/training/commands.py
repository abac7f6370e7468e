"""The training command kinds. Handlers are thin: coerce params, call the mechanism with the cluster's
clients and the worker's settings, return the result stored on the operation. All are idempotent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from podium_shared.operations.kinds import CommandKind, Target
from podium_shared.training import downloads, jobs
from podium_shared.training.manifests import API, JobContext, download_name
from podium_shared.training.precheck import submit_precheck
from podium_shared.training.schemas import (
    DeleteTrainingJobParams,
    DownloadModelParams,
    SubmitTrainingJobParams,
)

if TYPE_CHECKING:
    from podium_shared.operations.context import ExecutionContext

P = TypeVar("P", bound=BaseModel)


def _coerce(model: type[P], params: Any) -> P:
    # The runner may hand over the validated model or the stored dict; both mean the same.
    return params if isinstance(params, model) else model.model_validate(params)


def _submit(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    p = _coerce(SubmitTrainingJobParams, params)
    s = ctx.settings
    job_ctx = JobContext(
        cluster=ctx.cluster,
        operation_id=str(ctx.operation_id),
        default_image=s.training_default_image,
        models_pvc=s.training_models_pvc,
        mlflow_tracking_uri=s.training_mlflow_tracking_uri or s.mlflow_tracking_uri,
    )
    return jobs.submit_training_job(ctx.kube, p, job_ctx, hf_token=ctx.secrets.get("hf_token") or p.hf_token)


def _delete(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    return jobs.delete_training_job(ctx.kube, _coerce(DeleteTrainingJobParams, params))


def _download(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    p = _coerce(DownloadModelParams, params)
    return downloads.download_model(
        ctx.kube,
        p,
        settings=ctx.settings,
        hf_token=ctx.secrets.get("hf_token") or p.hf_token,
        progress=ctx.progress,
        check_cancelled=ctx.check_cancelled,
    )


KINDS = [
    CommandKind(
        name="submit_training_job",
        params=SubmitTrainingJobParams,
        handler=_submit,
        target=lambda p: Target(p.namespace, API[p.type][1], p.name),
        secret_fields=("hf_token",),
        precheck=submit_precheck,
    ),
    CommandKind(
        name="delete_training_job",
        params=DeleteTrainingJobParams,
        handler=_delete,
        target=lambda p: Target(p.namespace, API[p.type][1] if p.type else "TrainingJob", p.name),
    ),
    CommandKind(
        name="download_model",
        params=DownloadModelParams,
        handler=_download,
        target=lambda p: Target(p.namespace, "Job", p.name or download_name(p.model, p.revision)),
        secret_fields=("hf_token",),
    ),
]
