"""The three inference engines: pinned images, ports, argv, probes, env and drain metrics.

Everything an engine needs is argv items and structured fields; nothing is ever joined into a shell line.
Images are pinned to a tag we have tested the flags against, so a new upstream release cannot silently
change the meaning of an argument."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from podium_shared.kube.resources import literal


class EngineName(StrEnum):
    vllm = "vllm"
    sglang = "sglang"
    ollama = "ollama"


@dataclass(frozen=True)
class EngineSpec:
    name: EngineName
    image: str
    port: int
    command: tuple[str, ...]
    health_path: str
    readiness_path: str
    # Prometheus gauge of requests in flight, used to drain a pod; None when the engine has no /metrics.
    running_gauge: str | None
    uses_hf_token: bool
    # How long a model may take to load before the startup probe gives up (seconds).
    startup_seconds: int = 1800


ENGINES: dict[EngineName, EngineSpec] = {
    EngineName.vllm: EngineSpec(
        name=EngineName.vllm,
        image="vllm/vllm-openai:v0.6.4.post1",
        port=8000,
        command=("python3", "-m", "vllm.entrypoints.openai.api_server"),
        health_path="/health",
        readiness_path="/v1/models",
        running_gauge="vllm:num_requests_running",
        uses_hf_token=True,
    ),
    EngineName.sglang: EngineSpec(
        name=EngineName.sglang,
        image="lmsysorg/sglang:v0.4.0.post1-cu124",
        port=30000,
        command=("python3", "-m", "sglang.launch_server"),
        health_path="/health",
        readiness_path="/v1/models",
        running_gauge="sglang:num_running_reqs",
        uses_hf_token=True,
    ),
    EngineName.ollama: EngineSpec(
        name=EngineName.ollama,
        image="ollama/ollama:0.5.1",
        port=11434,
        command=("ollama",),
        health_path="/",
        readiness_path="/",
        # Ollama exposes no Prometheus endpoint; drains of Ollama pods rely on the Service relabel alone.
        running_gauge=None,
        uses_hf_token=False,
        startup_seconds=900,
    ),
}

HF_TOKEN_KEY = "token"  # noqa: S105 - the key name inside the Secret, not a value
SHM_SIZE = "16Gi"


def engine_spec(name: EngineName | str) -> EngineSpec:
    return ENGINES[EngineName(name)]


def engine_args(
    spec: EngineSpec,
    *,
    model: str,
    port: int,
    tensor_parallel: int,
    pipeline_parallel: int,
    max_model_len: int | None,
    served_model_name: str | None,
    extra_args: list[str],
) -> list[str]:
    """The container args (after `command`). Each value is its own argv item."""
    if spec.name is EngineName.vllm:
        args = ["--model", model, "--host", "0.0.0.0", "--port", str(port)]  # noqa: S104 - pod-local bind
        args += ["--tensor-parallel-size", str(tensor_parallel)]
        if pipeline_parallel > 1:
            args += ["--pipeline-parallel-size", str(pipeline_parallel)]
        if max_model_len:
            args += ["--max-model-len", str(max_model_len)]
        if served_model_name:
            args += ["--served-model-name", served_model_name]
        return args + [literal(a) for a in extra_args]
    if spec.name is EngineName.sglang:
        args = ["--model-path", model, "--host", "0.0.0.0", "--port", str(port)]  # noqa: S104
        args += ["--tp", str(tensor_parallel)]
        if pipeline_parallel > 1:
            args += ["--pp", str(pipeline_parallel)]
        if max_model_len:
            args += ["--context-length", str(max_model_len)]
        if served_model_name:
            args += ["--served-model-name", served_model_name]
        # The running-requests gauge used for draining is only exported with this flag.
        args.append("--enable-metrics")
        return args + [literal(a) for a in extra_args]
    # Ollama serves every pulled model; which one is pulled is the postStart hook's job.
    return ["serve"]


def probes(spec: EngineSpec, port: int, model: str) -> dict[str, dict[str, Any]]:
    def http(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": port},
            "periodSeconds": period,
            "failureThreshold": failures,
            "timeoutSeconds": 5,
        }

    readiness = http(spec.readiness_path, 5, 3)
    if spec.name is EngineName.ollama:
        # The server answers before the postStart pull finishes; ready means the model is there.
        readiness = {
            "exec": {"command": ["ollama", "show", model]},
            "periodSeconds": 10,
            "failureThreshold": 3,
        }
    return {
        # Loading weights takes minutes; the startup probe holds liveness off until the server answers.
        "startupProbe": http(spec.health_path, 10, max(1, spec.startup_seconds // 10)),
        "readinessProbe": readiness,
        "livenessProbe": http(spec.health_path, 15, 4),
    }


def env(spec: EngineSpec, *, model: str, secret: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if spec.name is EngineName.ollama:
        out.append({"name": "OLLAMA_HOST", "value": f"0.0.0.0:{spec.port}"})
        # Informational for people (and kubesim): the model the postStart hook pulls.
        out.append({"name": "OLLAMA_MODEL", "value": model})
    if secret and spec.uses_hf_token:
        ref = {"secretKeyRef": {"name": secret, "key": HF_TOKEN_KEY}}
        # Both names: huggingface_hub reads HF_TOKEN, older engine images read the long one.
        out.append({"name": "HF_TOKEN", "valueFrom": ref})
        out.append({"name": "HUGGING_FACE_HUB_TOKEN", "valueFrom": ref})
    return out


def lifecycle(spec: EngineSpec, model: str) -> dict[str, Any] | None:
    if spec.name is EngineName.ollama:
        # exec form: the model id is one argv item, never a shell word.
        return {"postStart": {"exec": {"command": ["ollama", "pull", model]}}}
    return None
