"""Simulated inference engines (vLLM, SGLang, Ollama): detection, start-up logs, answers, in-flight gauges.

The kubelet uses `startup_lines` for container logs; the service proxy uses `detect`, `complete` and
`metrics_text` to answer as the engine in the chosen pod would.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from podium_kubesim.expansion import container_argv, container_env

VLLM, SGLANG, OLLAMA, GENERIC = "vllm", "sglang", "ollama", "generic"
DEFAULT_PORTS = {VLLM: 8000, SGLANG: 30000, OLLAMA: 11434, GENERIC: 80}
VLLM_VERSION = "0.6.4.post1"

_WORDS = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "ut",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
)


@dataclass(frozen=True)
class Engine:
    kind: str
    model: str  # the name clients use (--served-model-name, else the model id)
    model_path: str  # what was loaded
    port: int
    tensor_parallel: int = 1
    max_model_len: int = 4096
    image: str = ""


def _argv(container: Mapping[str, Any]) -> list[str]:
    return container_argv(container)


def _flag(argv: list[str], *names: str) -> str | None:
    for i, a in enumerate(argv):
        for n in names:
            if a == n and i + 1 < len(argv):
                return argv[i + 1]
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


def _split_shell(argv: list[str]) -> list[str]:
    # `sh -c "vllm serve ..."`: look inside the script too (split on whitespace only; nothing is executed).
    out: list[str] = []
    for a in argv:
        out.extend(a.split() if " " in a else [a])
    return out


def detect(pod: Mapping[str, Any]) -> Engine:
    containers = list((pod.get("spec") or {}).get("containers") or [])
    chosen: Mapping[str, Any] = containers[0] if containers else {}
    kind = GENERIC
    for c in containers:
        k = _kind_of(c)
        if k != GENERIC:
            chosen, kind = c, k
            break
    argv = _split_shell(_argv(chosen))
    image = str(chosen.get("image") or "")
    env = container_env(chosen)
    model = ""
    if kind == VLLM:
        model = _flag(argv, "--model") or ""
        if not model and "serve" in argv:
            i = argv.index("serve")
            if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                model = argv[i + 1]
        model = model or env.get("MODEL_NAME", "") or "facebook/opt-125m"
    elif kind == SGLANG:
        model = (
            _flag(argv, "--model-path", "--model")
            or env.get("MODEL_PATH", "")
            or "meta-llama/Llama-3.1-8B-Instruct"
        )
    elif kind == OLLAMA:
        model = env.get("OLLAMA_MODEL", "") or _after(argv, "run") or _after(argv, "pull") or "llama3.2"
    served = _flag(argv, "--served-model-name") or model
    ports = [int(p.get("containerPort")) for p in chosen.get("ports") or [] if p.get("containerPort")]
    port = int(_flag(argv, "--port") or (ports[0] if ports else DEFAULT_PORTS[kind]))
    tp = int(_flag(argv, "--tensor-parallel-size", "-tp", "--tp", "--tp-size") or 1)
    max_len = int(_flag(argv, "--max-model-len", "--context-length") or 4096)
    return Engine(kind, served, model, port, tp, max_len, image)


def _after(argv: list[str], word: str) -> str | None:
    if word in argv:
        i = argv.index(word)
        if i + 1 < len(argv):
            return argv[i + 1]
    return None


def _kind_of(container: Mapping[str, Any]) -> str:
    image = str(container.get("image") or "").lower()
    argv = " ".join(_argv(container)).lower()
    if "vllm" in image or "vllm serve" in argv or "vllm.entrypoints" in argv:
        return VLLM
    if "sglang" in image or "sglang.launch_server" in argv:
        return SGLANG
    if "ollama" in image:
        return OLLAMA
    return GENERIC


# --- start-up logs --------------------------------------------------------------------------------


def startup_lines(engine: Engine, container: Mapping[str, Any]) -> list[str]:
    """The lines a container prints while starting; the last one says it serves."""
    now = datetime.now(UTC)
    if engine.kind == VLLM:
        t = now.strftime("%m-%d %H:%M:%S")
        m, p, tp = engine.model_path, engine.port, engine.tensor_parallel
        return [
            f"INFO {t} api_server.py:585] vLLM API server version {VLLM_VERSION}",
            f"INFO {t} api_server.py:586] args: Namespace(host=None, port={p}, model='{m}', "
            f"tensor_parallel_size={tp}, max_model_len={engine.max_model_len}, "
            f"served_model_name=['{engine.model}'])",
            f"INFO {t} config.py:350] This model supports multiple tasks: {{'generate', 'embedding'}}. "
            "Defaulting to 'generate'.",
            f"INFO {t} llm_engine.py:249] Initializing an LLM engine (v{VLLM_VERSION}) with config: "
            f"model='{m}', "
            f"tokenizer='{m}', dtype=torch.bfloat16, max_seq_len={engine.max_model_len}, "
            f"tensor_parallel_size={tp}, seed=0, served_model_name={engine.model}",
            f"INFO {t} model_runner.py:1072] Starting to load model {m}...",
            f"INFO {t} weight_utils.py:243] Using model weights format ['*.safetensors']",
            "Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:01<00:00,  1.02s/it]",
            f"INFO {t} model_runner.py:1077] Loading model weights took 1.1201 GB",
            f"INFO {t} gpu_executor.py:113] # GPU blocks: 27912, # CPU blocks: 2340",
            f"INFO {t} gpu_executor.py:117] Maximum concurrency for {engine.max_model_len} tokens "
            "per request: 109.03x",
            f"INFO {t} model_runner.py:1518] Graph capturing finished in 12 secs, took 0.23 GiB",
            f"INFO {t} api_server.py:249] Starting vLLM API server on http://0.0.0.0:{p}",
            f"INFO {t} launcher.py:19] Available routes are:",
            f"INFO {t} launcher.py:27] Route: /health, Methods: GET",
            f"INFO {t} launcher.py:27] Route: /v1/models, Methods: GET",
            f"INFO {t} launcher.py:27] Route: /v1/chat/completions, Methods: POST",
            f"INFO {t} launcher.py:27] Route: /v1/completions, Methods: POST",
            "INFO:     Started server process [1]",
            "INFO:     Waiting for application startup.",
            "INFO:     Application startup complete.",
            f"INFO:     Uvicorn running on http://0.0.0.0:{p} (Press CTRL+C to quit)",
        ]
    if engine.kind == SGLANG:
        t = now.strftime("%Y-%m-%d %H:%M:%S")
        m, p, tp = engine.model_path, engine.port, engine.tensor_parallel
        return [
            f"[{t}] server_args=ServerArgs(model_path='{m}', tokenizer_path='{m}', host='0.0.0.0', port={p}, "
            f"tp_size={tp}, served_model_name='{engine.model}', context_length={engine.max_model_len})",
            f"[{t} TP0] Init torch distributed begin.",
            f"[{t} TP0] Load weight begin. avail mem=78.50 GB",
            f"[{t} TP0] Loading safetensors checkpoint shards: 100% Completed | 4/4 [00:03<00:00,  1.10it/s]",
            f"[{t} TP0] Load weight end. type=LlamaForCausalLM, dtype=torch.bfloat16, avail mem=63.40 GB",
            f"[{t} TP0] Memory pool end. avail mem=8.20 GB",
            f"[{t} TP0] Capture cuda graph begin. This can take up to several minutes.",
            f"[{t} TP0] Capture cuda graph end. Time elapsed: 9.12 s",
            f"[{t} TP0] max_total_num_tokens=412312, chunked_prefill_size=8192, max_prefill_tokens=16384, "
            f"max_running_requests=2049, context_len={engine.max_model_len}",
            f"[{t}] INFO:     Started server process [1]",
            f"[{t}] INFO:     Waiting for application startup.",
            f"[{t}] INFO:     Application startup complete.",
            f"[{t}] INFO:     Uvicorn running on http://0.0.0.0:{p} (Press CTRL+C to quit)",
            f"[{t}] The server is fired up and ready to roll!",
        ]
    if engine.kind == OLLAMA:
        t = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        return [
            f"{now.strftime('%Y/%m/%d %H:%M:%S')} routes.go:1189: INFO server config "
            'env="map[OLLAMA_HOST:http://0.0.0.0:11434 OLLAMA_KEEP_ALIVE:5m0s OLLAMA_MAX_LOADED_MODELS:0]"',
            f'time={t} level=INFO source=images.go:755 msg="total blobs: 5"',
            f'time={t} level=INFO source=images.go:762 msg="total unused blobs removed: 0"',
            f'time={t} level=INFO source=routes.go:1240 msg="Listening on [::]:{engine.port} '
            '(version 0.5.1)"',
            f'time={t} level=INFO source=gpu.go:221 msg="looking for compatible GPUs"',
            f'time={t} level=INFO source=types.go:131 msg="inference compute" id=GPU-4b9c8a1e library=cuda '
            'variant=v12 compute=8.6 driver=12.4 name="NVIDIA A10G" total="22.1 GiB" available="21.8 GiB"',
            f'time={t} level=INFO source=server.go:601 msg="llama runner started in 2.51 seconds" '
            f"model={engine.model}",
        ]
    argv = _argv(container)
    script = " ".join(argv)
    if "echo " in script:
        # `sh -c "echo hello"`: print what would be echoed (text only; nothing is executed).
        return [
            part.split("echo ", 1)[1].strip().strip("'\"") for part in script.split("&&") if "echo " in part
        ]
    name = container.get("name") or "app"
    image = container.get("image") or "unknown"
    return [f"{name}: starting {image}" + (f" ({script})" if script else ""), f"{name}: ready"]


# --- answers --------------------------------------------------------------------------------------


def generate_tokens(prompt: str, n: int, pod: str) -> list[str]:
    """Deterministic lorem-style tokens for a prompt (the same prompt gives the same text on every pod)."""
    seed = int(hashlib.sha256(prompt.encode()).hexdigest()[:12], 16)
    rng = random.Random(seed)  # noqa: S311 - simulated text, not security
    return [(" " if i else "") + rng.choice(_WORDS) for i in range(max(0, n))]


def count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def completion_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def models_body(engine: Engine, pod: str) -> dict[str, Any]:
    owner = {VLLM: "vllm", SGLANG: "sglang", OLLAMA: "library"}.get(engine.kind, "kubesim")
    entry: dict[str, Any] = {
        "id": engine.model,
        "object": "model",
        "created": int(time.time()),
        "owned_by": owner,
    }
    if engine.kind == VLLM:
        entry.update(root=engine.model_path, parent=None, max_model_len=engine.max_model_len)
    return {"object": "list", "data": [entry], "kubesim_pod": pod}


# --- in-flight gauges -----------------------------------------------------------------------------


class EngineStats:
    """Requests in flight and served, per pod (namespace, name)."""

    def __init__(self) -> None:
        self.running: dict[tuple[str, str], int] = {}
        self.served: dict[tuple[str, str], int] = {}

    def begin(self, pod: tuple[str, str]) -> None:
        self.running[pod] = self.running.get(pod, 0) + 1

    def end(self, pod: tuple[str, str]) -> None:
        self.running[pod] = max(0, self.running.get(pod, 0) - 1)
        self.served[pod] = self.served.get(pod, 0) + 1


_STATS: weakref.WeakKeyDictionary[Any, EngineStats] = weakref.WeakKeyDictionary()


def stats_for(sim: Any) -> EngineStats:
    found = _STATS.get(sim)
    if found is None:
        found = _STATS[sim] = EngineStats()
    return found


def metrics_text(engine: Engine, running: int, served: int) -> str:
    """Prometheus exposition with the engine's own gauge names."""
    m = engine.model
    if engine.kind == SGLANG:
        return (
            "# HELP sglang:num_running_reqs The number of running requests.\n"
            "# TYPE sglang:num_running_reqs gauge\n"
            f'sglang:num_running_reqs{{model_name="{m}"}} {float(running)}\n'
            "# HELP sglang:num_queue_reqs The number of requests in the waiting queue.\n"
            "# TYPE sglang:num_queue_reqs gauge\n"
            f'sglang:num_queue_reqs{{model_name="{m}"}} 0.0\n'
            "# HELP sglang:num_requests_total Number of requests processed.\n"
            "# TYPE sglang:num_requests_total counter\n"
            f'sglang:num_requests_total{{model_name="{m}"}} {float(served)}\n'
        )
    if engine.kind == OLLAMA:
        # Ollama has no Prometheus endpoint; kubesim offers an equivalent gauge under an ollama_ prefix.
        return (
            "# HELP ollama_requests_running Requests being processed.\n"
            "# TYPE ollama_requests_running gauge\n"
            f'ollama_requests_running{{model="{m}"}} {float(running)}\n'
            "# HELP ollama_requests_total Requests processed.\n"
            "# TYPE ollama_requests_total counter\n"
            f'ollama_requests_total{{model="{m}"}} {float(served)}\n'
        )
    return (
        "# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
        "# TYPE vllm:num_requests_running gauge\n"
        f'vllm:num_requests_running{{model_name="{m}"}} {float(running)}\n'
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        f'vllm:num_requests_waiting{{model_name="{m}"}} 0.0\n'
        "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.\n"
        "# TYPE vllm:gpu_cache_usage_perc gauge\n"
        f'vllm:gpu_cache_usage_perc{{model_name="{m}"}} {min(1.0, running * 0.01):.4f}\n'
        "# HELP vllm:request_success_total Count of successfully processed requests.\n"
        "# TYPE vllm:request_success_total counter\n"
        f'vllm:request_success_total{{finished_reason="length",model_name="{m}"}} {float(served)}\n'
    )
