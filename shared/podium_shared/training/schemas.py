"""Params of the training command kinds (validated by the API with 422, re-read by the worker).

User strings end up only as argv elements and environment values of the pods (never in a shell or YAML
text). Model ids, dataset names and paths are still held to the characters they legitimately use, so a
typo or an injection attempt is a 422 naming the field rather than a pod failing an hour later."""

from __future__ import annotations

import posixpath
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from podium_shared.telemetry.schemas import MetricDataPoint

MODELS_MOUNT = "/models"  # where the shared volume is mounted in training and download pods
JOB_NAME_MAX = 40  # pods are `<job>-worker-<i>`, the Service `<job>-master-0`: room for the suffixes
ARG_MAX = 4096
ARGV_MAX_ITEMS = 256
ARGV_MAX_TOTAL = 32 * 1024  # the argv also goes into the job's settings annotation (256 KiB for all)

_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
# Hugging Face ids (`org/name`) or a path on the shared volume (`/models/org/name`).
_MODEL_ID = re.compile(r"[A-Za-z0-9/][A-Za-z0-9._/@+-]*")
# LLaMA-Factory dataset names from dataset_info.json, comma-separated (`alpaca_en_demo,identity`).
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@+-]*(,[A-Za-z0-9][A-Za-z0-9._/@+-]*)*")
_TEMPLATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*(:[A-Za-z0-9._-]+)?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Set by Podium (token, MLflow) or by the training operator (torchrun rendezvous); a user value would
# silently break the job or its link to Podium.
RESERVED_ENV = frozenset(
    {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK"}
)
RESERVED_ENV_PREFIXES = ("MLFLOW_", "PET_")


class JobType(StrEnum):
    hyperpod = "hyperpod"  # sagemaker.amazonaws.com/v1 HyperPodPyTorchJob
    pytorchjob = "pytorchjob"  # kubeflow.org/v1 PyTorchJob


class Stage(StrEnum):
    pt = "pt"
    sft = "sft"
    rm = "rm"
    ppo = "ppo"
    dpo = "dpo"
    kto = "kto"


class FinetuningType(StrEnum):
    lora = "lora"
    full = "full"
    freeze = "freeze"


class DeepSpeed(StrEnum):
    none = "none"
    z0 = "z0"
    z2 = "z2"
    z3 = "z3"
    z3_offload = "z3-offload"


def _fullmatch(pattern: re.Pattern[str], value: str, what: str, hint: str, max_len: int = 256) -> str:
    if not value or len(value) > max_len or not pattern.fullmatch(value):
        raise ValueError(f"invalid {what} {value[:80]!r}: {hint} (at most {max_len} characters)")
    return value


def _no_dot_segments(value: str, what: str) -> str:
    if any(part in (".", "..") for part in value.split("/")):
        raise ValueError(f"invalid {what} {value[:80]!r}: '.' and '..' path segments are not allowed")
    return value


def validate_model_id(value: str) -> str:
    _fullmatch(_MODEL_ID, value, "model", "a Hugging Face id or a path; letters, digits and . _ / @ + -")
    return _no_dot_segments(value, "model")


def _printable(value: str, what: str, max_len: int) -> str:
    if len(value) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    if not value.isprintable():
        raise ValueError(f"{what} contains control characters")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlamaFactorySettings(_Strict):
    """LLaMA-Factory training arguments (defaults follow its example configs)."""

    model: str
    dataset: str
    template: str = "default"
    stage: Stage = Stage.sft
    finetuning_type: FinetuningType = FinetuningType.lora
    batch_size: int = Field(1, ge=1, le=4096, description="per device")
    gradient_accumulation_steps: int = Field(8, ge=1, le=4096)
    learning_rate: float = Field(1e-4, gt=0, le=1)
    epochs: float = Field(3.0, gt=0, le=10_000)
    cutoff_len: int = Field(2048, ge=1, le=1_048_576)
    deepspeed: DeepSpeed = DeepSpeed.none
    # On the shared volume: absolute under /models, or relative to /models/outputs. Default: the job name.
    output_dir: str | None = None
    max_steps: int | None = Field(None, ge=1, le=10_000_000)
    logging_steps: int = Field(10, ge=1, le=1_000_000)

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        return validate_model_id(value)

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str) -> str:
        return _fullmatch(_DATASET, value, "dataset", "comma-separated dataset names", max_len=1024)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return _fullmatch(_TEMPLATE, value, "template", "letters, digits and . _ -", max_len=64)

    @field_validator("output_dir")
    @classmethod
    def _output_dir(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _fullmatch(_MODEL_ID, value, "output_dir", "a path; letters, digits and . _ / @ + -", max_len=512)
        _no_dot_segments(value.strip("/"), "output_dir")
        if value.startswith("/") and not (value == MODELS_MOUNT or value.startswith(MODELS_MOUNT + "/")):
            raise ValueError(f"output_dir must be on the shared volume ({MODELS_MOUNT}/...)")
        return value

    def resolved_output_dir(self, job: str) -> str:
        out = self.output_dir or job
        return out if out.startswith("/") else posixpath.join(MODELS_MOUNT, "outputs", out)


class _Namespaced(_Strict):
    namespace: str = "default"

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return _fullmatch(_DNS_LABEL, value, "namespace", "a DNS label", max_len=63)


def _job_name(value: str) -> str:
    return _fullmatch(
        _DNS_LABEL, value, "name", "lower-case letters, digits and '-', starting with a letter", JOB_NAME_MAX
    )


def _token(value: str | None) -> str | None:
    if value is not None and not value.isprintable():
        # Never echo the value: this message ends up in a 422 body.
        raise ValueError("hf_token contains non-printable characters")
    return value


JobName = Annotated[str, AfterValidator(_job_name)]
# Secret: the API seals it before the operation is stored; the worker reads it from ctx.secrets.
HfToken = Annotated[str | None, Field(repr=False, min_length=1, max_length=512), AfterValidator(_token)]


class SubmitTrainingJobParams(_Namespaced):
    """Either `llamafactory` settings or a custom `command` (an argv list, run as is: never a shell)."""

    name: JobName
    type: JobType = JobType.pytorchjob
    image: str | None = None  # default: settings.training_default_image
    llamafactory: LlamaFactorySettings | None = None
    command: list[str] | None = Field(None, min_length=1, max_length=ARGV_MAX_ITEMS)
    env: dict[str, str] = Field(default_factory=dict, max_length=64)
    instance_type: str | None = None
    replicas: int = Field(1, ge=1, le=256, description="nodes")
    procs_per_node: int = Field(1, ge=1, le=64, description="GPUs per node (torchrun nproc_per_node)")
    hf_token: HfToken = None
    mlflow_experiment: str | None = Field(None, min_length=1)
    mlflow_run_name: str | None = Field(None, min_length=1)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _fullmatch(_IMAGE, value, "image", "an image reference (registry/repo:tag or @digest)", 512)

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value[0]:
            raise ValueError("command: the first element (the program) must not be empty")
        for i, arg in enumerate(value):
            _printable(arg, f"command[{i}]", ARG_MAX)
        if sum(len(a) for a in value) > ARGV_MAX_TOTAL:
            raise ValueError(f"command is longer than {ARGV_MAX_TOTAL} characters in total")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name, v in value.items():
            _fullmatch(_ENV_NAME, name, "environment variable name", "letters, digits and _", max_len=128)
            if name in RESERVED_ENV or name.startswith(RESERVED_ENV_PREFIXES):
                raise ValueError(f"environment variable {name} is set by Podium or the training operator")
            _printable(v, f"env {name}", ARG_MAX)
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _fullmatch(_LABEL_VALUE, value, "instance_type", "a Kubernetes label value", max_len=63)

    @field_validator("mlflow_experiment", "mlflow_run_name")
    @classmethod
    def _mlflow(cls, value: str | None) -> str | None:
        return None if value is None else _printable(value, "MLflow name", 256)

    @model_validator(mode="after")
    def _source(self) -> SubmitTrainingJobParams:
        if (self.llamafactory is None) == (self.command is None):
            raise ValueError("give exactly one of `llamafactory` (settings) or `command` (an argv list)")
        if self.mlflow_run_name and not self.mlflow_experiment:
            raise ValueError("`mlflow_run_name` needs `mlflow_experiment`")
        return self


class DeleteTrainingJobParams(_Namespaced):
    name: JobName
    type: JobType | None = None  # None: whichever of the two kinds has this name


class DownloadModelParams(_Namespaced):
    model: str
    revision: str = "main"
    name: JobName | None = None  # the Job's name; default derived from model and revision
    pvc: str | None = None  # default: settings.training_models_pvc
    hf_token: HfToken = None

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if value.startswith("/"):
            raise ValueError("model must be a Hugging Face id (org/name), not a path")
        return validate_model_id(value)

    @field_validator("revision")
    @classmethod
    def _revision(cls, value: str) -> str:
        _fullmatch(_REVISION, value, "revision", "a branch, tag or commit", max_len=128)
        return _no_dot_segments(value, "revision")

    @field_validator("pvc")
    @classmethod
    def _pvc(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _fullmatch(_DNS_LABEL, value, "pvc", "a PersistentVolumeClaim name", max_len=63)


# --- what the reads answer ------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobStatusOut(_Out):
    phase: str  # Pending | Running | Succeeded | Failed
    reason: str | None = None
    message: str | None = None


class ConditionOut(_Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None
    lastTransitionTime: str | None = None


class PodOut(_Out):
    name: str | None = None
    role: str | None = None  # master | worker (Kubeflow), the replica spec name (HyperPod)
    index: str | None = None
    node: str | None = None
    phase: str | None = None
    restarts: int = 0
    started_at: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None
    finished_at: str | None = None


class FailedPodOut(_Out):
    name: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None


class FailureOut(_Out):
    reason: str | None = None
    message: str | None = None
    pods: list[FailedPodOut]


class EventOut(_Out):
    type: str | None = None
    reason: str | None = None
    message: str | None = None
    object: str
    count: int = 1
    first: str | None = None
    last: str | None = None


class TrainingJobPage(_Out):
    cluster: str
    name: str
    namespace: str
    kind: str
    type: str | None  # pytorchjob | hyperpod
    uid: str  # the workload uid (logs and metrics are keyed by it)
    created: str | None = None
    managed_by_podium: bool
    operation_id: str | None = None  # the submit operation, for jobs Podium created
    settings: dict[str, Any] | None = None  # as submitted (never the token)
    status: JobStatusOut
    conditions: list[ConditionOut]
    replica_statuses: dict[str, Any]
    failure: FailureOut | None = None
    start: str | None = None
    end: str | None = None
    duration_seconds: float | None = None  # null while running
    pods: list[PodOut]
    events: list[EventOut]
    latest_metrics: dict[str, MetricDataPoint] | None = None  # each metric's newest kept point, by name
    snapshot_age_seconds: float


class DownloadOut(_Out):
    name: str
    namespace: str
    model: str | None = None
    revision: str | None = None
    pvc: str | None = None
    local_dir: str | None = None
    status: str  # Pending | Running | Succeeded | Failed
    message: str | None = None
    percent: float | None = None
    files_done: int | None = None
    files_total: int | None = None
    start: str | None = None
    end: str | None = None
    created: str | None = None
    operation_id: str | None = None
