"""Params of the serving command kinds (validated by the API with 422, re-read by the worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from podium_shared.errors import Invalid
from podium_shared.serving.cmdline import ARG_MAX, _check_extras, parse_command_line
from podium_shared.serving.engines import EngineName
from podium_shared.serving.naming import (
    validate_business,
    validate_label_value,
    validate_model_id,
    validate_name,
    validate_pod_name,
)

Scheme = Literal["internal", "internet-facing"]


def _check(fn: Callable[..., str], value: str, **kwargs: Any) -> str:
    """Domain validators raise Invalid; pydantic collects ValueError into one 422 with every field."""
    try:
        return fn(value, **kwargs)
    except Invalid as exc:
        raise ValueError(exc.message) from None


def _ns(value: str) -> str:
    return _check(validate_name, value, field="namespace", max_len=63)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = "default"

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return _ns(value)


class DeployModelParams(_Params):
    """Either `model` (+ engine and fields) or a pasted `command_line`; fields given next to a command
    line override what it says only where the line is silent (replicas, placement, exposure)."""

    name: str | None = None
    engine: EngineName | None = None
    model: str | None = None
    command_line: str | None = Field(None, max_length=8192)
    replicas: int = Field(1, ge=0, le=256)
    gpus_per_replica: int | None = Field(None, ge=0, le=64)
    max_model_len: int | None = Field(None, ge=1, le=10_000_000)
    served_model_name: str | None = None
    extra_args: list[str] = Field(default_factory=list, max_length=64)
    instance_type: str | None = None
    node_group: str | None = None
    scheme: Scheme = "internal"
    pool: bool = False
    # Secret: the API seals it before the operation is stored; the worker reads it from ctx.secrets.
    hf_token: str | None = Field(None, repr=False, min_length=1, max_length=512)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _check(validate_name, value, field="name")

    @field_validator("model", "served_model_name")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        return None if value is None else _check(validate_model_id, value)

    @field_validator("instance_type", "node_group")
    @classmethod
    def _placement(cls, value: str | None) -> str | None:
        return None if value is None else _check(validate_label_value, value, field="placement")

    @field_validator("extra_args")
    @classmethod
    def _extra(cls, value: list[str]) -> list[str]:
        if any(len(v) > ARG_MAX for v in value):
            raise ValueError(f"extra argument longer than {ARG_MAX} characters")
        try:
            return _check_extras(list(value))
        except Invalid as exc:
            raise ValueError(exc.message) from None

    @field_validator("hf_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            # Never echo the value: this message ends up in a 422 body.
            raise ValueError("hf_token contains non-printable characters")
        return value

    @model_validator(mode="after")
    def _source(self) -> DeployModelParams:
        if bool(self.command_line) == bool(self.model):
            raise ValueError("give exactly one of `model` or `command_line`")
        if self.model and self.engine is None:
            raise ValueError("`engine` is required with `model`")
        if self.command_line:
            # Parsed here too so a bad line is a 422 at accept time, naming the token, not a failed operation.
            try:
                parsed = parse_command_line(self.command_line)
            except Invalid as exc:
                raise ValueError(exc.message) from None
            if self.engine is not None and self.engine is not parsed.engine:
                raise ValueError(
                    f"`engine` is {self.engine.value} but the command line runs {parsed.engine.value}"
                )
        return self


class UndeployModelParams(_Params):
    name: str
    # A pool whose pods still serve a business is only removed when the caller says so.
    force: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check(validate_name, value, field="name", max_len=63)


class CreateBusinessServiceParams(_Params):
    pool: str
    business: str
    scheme: Scheme = "internal"
    name: str | None = None

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        return _check(validate_name, value, field="pool", max_len=63)

    @field_validator("business")
    @classmethod
    def _business(cls, value: str) -> str:
        if value == "unassigned":
            raise ValueError("`unassigned` is the pool's spare state, not a business")
        return _check(validate_business, value)

    @field_validator("name")
    @classmethod
    def _sname(cls, value: str | None) -> str | None:
        return None if value is None else _check(validate_name, value, field="name", max_len=63)


class DeleteBusinessServiceParams(_Params):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check(validate_name, value, field="name", max_len=63)


def _business_or_unassigned(value: str) -> str:
    return value if value == "unassigned" else _check(validate_business, value)


# A pod move's two halves, validated the same wherever a move is given (one pod or a planned batch).
PodName = Annotated[str, AfterValidator(lambda value: _check(validate_pod_name, value))]
BusinessOrUnassigned = Annotated[str, AfterValidator(_business_or_unassigned)]


class AssignPodParams(_Params):
    pod: PodName
    business: BusinessOrUnassigned
    # Upper bound on waiting for in-flight requests when a pod leaves a business.
    drain_timeout_seconds: float = Field(120.0, ge=0, le=3600)


class DistributePoolParams(_Params):
    pool: str
    ratios: dict[str, int] | None = None
    counts: dict[str, int] | None = None
    drain_timeout_seconds: float = Field(120.0, ge=0, le=3600)
    concurrency: int = Field(8, ge=1, le=64)

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        return _check(validate_name, value, field="pool", max_len=63)

    @field_validator("ratios", "counts")
    @classmethod
    def _targets(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is None:
            return None
        if not value or len(value) > 64:
            raise ValueError("give between 1 and 64 businesses")
        for business, n in value.items():
            _business_or_unassigned(business)
            if n < 0 or n > 10_000:
                raise ValueError(f"{business}: must be between 0 and 10000")
        return value

    @model_validator(mode="after")
    def _one(self) -> DistributePoolParams:
        if (self.ratios is None) == (self.counts is None):
            raise ValueError("give exactly one of `ratios` or `counts`")
        if self.ratios is not None and sum(self.ratios.values()) == 0:
            raise ValueError("ratios must not all be zero")
        return self


class PodMove(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pod: PodName
    business: BusinessOrUnassigned


class AssignPodsParams(_Params):
    """A planned distribution as one bulk operation: one `assign_pod` child per move."""

    moves: list[PodMove] = Field(min_length=1, max_length=5000)
    drain_timeout_seconds: float = Field(120.0, ge=0, le=3600)
    concurrency: int = Field(8, ge=1, le=100)

    @model_validator(mode="after")
    def _unique(self) -> AssignPodsParams:
        pods = [m.pod for m in self.moves]
        if len(set(pods)) != len(pods):
            raise ValueError("each pod may appear once")
        return self


class DeployParseRequest(BaseModel):
    """`POST /clusters/{cluster}/deploy/parse`: a pasted command line and the deploy fields a line does
    not carry; parsed and checked, never queued."""

    model_config = ConfigDict(extra="forbid")

    command_line: str = Field(min_length=1, max_length=8192)
    namespace: str = Field("default", min_length=1, max_length=63)
    name: str | None = Field(None, min_length=1, max_length=63)
    replicas: int = Field(1, ge=0, le=256)
    gpus_per_replica: int | None = Field(None, ge=0, le=64)
    instance_type: str | None = Field(None, min_length=1, max_length=63)
    node_group: str | None = Field(None, min_length=1, max_length=63)
    scheme: Scheme = "internal"
    pool: bool = False


class ParsedDeploy(BaseModel):
    """A deployment as the server resolved it from a command line and fields."""

    name: str
    namespace: str
    engine: EngineName
    model: str
    tag: str
    replicas: int
    gpus_per_replica: int
    tensor_parallel: int
    pipeline_parallel: int
    port: int
    max_model_len: int | None
    served_model_name: str | None
    extra_args: list[str]
    instance_type: str | None
    node_group: str | None
    scheme: Scheme
    pool: bool


class GpuNeed(BaseModel):
    needed: int
    # GPUs free now on the nodes the deployment may use; null without a snapshot or when it cannot fit.
    free_now: int | None


class DeployParseResult(BaseModel):
    params: ParsedDeploy
    warnings: list[str]
    # null: no snapshot of the cluster yet, so unknown.
    fits: bool | None
    gpu: GpuNeed


class ModelEndpoint(BaseModel):
    service: str | None
    business: str | None
    type: str | None
    scheme: str | None
    address: str | None
    port: int | None


class ModelOut(BaseModel):
    """A serving deployment (standard or pool) as the models list shows it."""

    name: str
    namespace: str
    type: Literal["standard", "pool"]
    engine: str | None
    model: str | None
    model_tag: str | None
    gpus_per_replica: int | None
    replicas: int
    ready: int
    managed_by_podium: bool
    endpoints: list[ModelEndpoint]
