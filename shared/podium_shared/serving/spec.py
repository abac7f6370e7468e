"""Deploy params (fields or a pasted command line) resolved into one complete, validated description."""

from __future__ import annotations

from dataclasses import dataclass, field

from podium_shared.serving import naming
from podium_shared.serving.cmdline import ParsedCommand, parse_command_line
from podium_shared.serving.engines import EngineName, engine_spec
from podium_shared.serving.schemas import DeployModelParams, Scheme


@dataclass(frozen=True)
class ServingSpec:
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
    extra_args: list[str] = field(default_factory=list)
    instance_type: str | None = None
    node_group: str | None = None
    scheme: Scheme = "internal"
    pool: bool = False
    has_token: bool = False

    @property
    def secret_name(self) -> str | None:
        return naming.secret_name(self.name) if self.has_token else None


def resolve(params: DeployModelParams, *, has_token: bool) -> ServingSpec:
    if params.command_line:
        parsed = parse_command_line(params.command_line)
        if parsed.engine is EngineName.ollama:
            # `ollama run` has no parallelism flag; the field (default one GPU) decides.
            gpus = 1 if params.gpus_per_replica is None else params.gpus_per_replica
        else:
            gpus = parsed.gpus_per_replica
    else:
        # The schema guarantees both in fields mode.
        assert params.engine is not None
        assert params.model is not None
        gpus = 1 if params.gpus_per_replica is None else params.gpus_per_replica
        parsed = ParsedCommand(
            engine=params.engine,
            model=params.model,
            # Fields mode: all GPUs of a replica form one tensor-parallel group (0 GPUs = CPU, size 1).
            tensor_parallel=max(1, gpus),
            max_model_len=params.max_model_len,
            served_model_name=params.served_model_name,
        )
    tag = naming.model_tag(parsed.model)
    return ServingSpec(
        name=params.name or naming.deployment_name(parsed.engine.value, tag),
        namespace=params.namespace,
        engine=parsed.engine,
        model=parsed.model,
        tag=tag,
        replicas=params.replicas,
        gpus_per_replica=gpus,
        tensor_parallel=parsed.tensor_parallel,
        pipeline_parallel=parsed.pipeline_parallel,
        port=parsed.port or engine_spec(parsed.engine).port,
        max_model_len=parsed.max_model_len or params.max_model_len,
        served_model_name=parsed.served_model_name or params.served_model_name,
        extra_args=[*parsed.extra_args, *params.extra_args],
        instance_type=params.instance_type,
        node_group=params.node_group,
        scheme=params.scheme,
        pool=params.pool,
        has_token=has_token,
    )
