"""The API server's service and pod proxy, answered by the simulated engine in the chosen pod.

`/api/v1/namespaces/{ns}/services/{name}[:port]/proxy/{path}` picks one of the Service's *ready* endpoints
round-robin at request time (so relabelling a pod moves traffic as soon as Endpoints change) and answers as
that pod's engine would: OpenAI-compatible `/v1/models`, `/v1/completions`, `/v1/chat/completions` (with
`stream=true` SSE ending in `data: [DONE]`), `/health`, `/metrics`. Every answer names the pod that served
it: header `X-Kubesim-Pod` and body field `kubesim_pod`.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from podium_kubesim import engines, errors
from podium_kubesim.errors import ApiError
from podium_kubesim.resources import resource
from podium_kubesim.scenario import settings_for

if TYPE_CHECKING:
    from podium_kubesim.sim import KubeSim

PODS = resource("pods")
SERVICES = resource("services")
ENDPOINTS = resource("endpoints")
POD_HEADER = "X-Kubesim-Pod"
LATENCY_ANNOTATION = "kubesim.podium.dev/token-seconds"  # simulated seconds per generated token

_ROUND_ROBIN: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], int]] = weakref.WeakKeyDictionary()


def _split_ref(ref: str) -> tuple[str, str]:
    """`name`, `name:port` or `scheme:name:port` (the apiserver's proxy syntax) -> (name, port)."""
    parts = ref.split(":")
    if len(parts) == 3:
        return parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    return parts[0], ""


def ready_addresses(sim: KubeSim, namespace: str, name: str, port: str) -> list[dict[str, Any]]:
    svc = sim.store.peek(SERVICES, namespace, name)
    if svc is None:
        raise errors.not_found(SERVICES, name)
    wanted: set[str] = set()
    if port:
        for sp in (svc.get("spec") or {}).get("ports") or []:
            if port in (str(sp.get("name") or ""), str(sp.get("port"))):
                wanted.add(str(sp.get("name") or ""))
        if not wanted:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}:{port}"')
    ep = sim.store.peek(ENDPOINTS, namespace, name) or {}
    out: list[dict[str, Any]] = []
    for subset in ep.get("subsets") or []:
        names = {str(p.get("name") or "") for p in subset.get("ports") or []}
        if wanted and not (wanted & names) and names:
            continue
        out.extend(subset.get("addresses") or [])
    return out


async def handle_service_proxy(
    sim: KubeSim, request: Request, namespace: str, service_ref: str, path: str
) -> Response:
    name, port = _split_ref(service_ref)
    addresses = ready_addresses(sim, namespace, name, port)
    if not addresses:
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    counters = _ROUND_ROBIN.setdefault(sim, {})
    n = counters.get((namespace, name), 0)
    counters[(namespace, name)] = n + 1
    address = addresses[n % len(addresses)]
    pod_name = str((address.get("targetRef") or {}).get("name") or "")
    pod = sim.store.peek(PODS, namespace, pod_name)
    if pod is None:
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    return await serve(sim, request, pod, path)


async def handle_pod_proxy(
    sim: KubeSim, request: Request, namespace: str, pod_ref: str, path: str
) -> Response:
    name, _ = _split_ref(pod_ref)
    pod = sim.store.peek(PODS, namespace, name)
    if pod is None:
        raise errors.not_found(PODS, name)
    if (pod.get("status") or {}).get("phase") != "Running" or not (pod.get("status") or {}).get("podIP"):
        raise ApiError(503, "ServiceUnavailable", f'pod "{name}" is not running')
    return await serve(sim, request, pod, path)


# --- the engine's HTTP API ------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request to one pod's engine."""

    sim: KubeSim
    request: Request
    pod: dict[str, Any]
    key: tuple[str, str]  # (namespace, pod name)
    engine: engines.Engine
    path: str

    @property
    def pod_name(self) -> str:
        return self.key[1]

    def json(self, body: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse(
            {**body, "kubesim_pod": self.pod_name}, status_code=status, headers={POD_HEADER: self.pod_name}
        )

    def error(self, status: int, message: str, etype: str) -> JSONResponse:
        # vLLM's (OpenAI's) error body shape
        return self.json(
            {"object": "error", "message": message, "type": etype, "param": None, "code": status}, status
        )

    def text(self, text: str, media_type: str = "text/plain; charset=utf-8") -> Response:
        return PlainTextResponse(text, media_type=media_type, headers={POD_HEADER: self.pod_name})


def _token_seconds(sim: KubeSim, pod: dict[str, Any]) -> float:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(LATENCY_ANNOTATION)
    try:
        return float(raw) if raw is not None else settings_for(sim).timings.token_seconds
    except ValueError:
        return settings_for(sim).timings.token_seconds


async def _health(call: Call) -> Response:
    return Response(b"", status_code=200, headers={POD_HEADER: call.pod_name})


async def _metrics(call: Call) -> Response:
    stats = engines.stats_for(call.sim)
    text = engines.metrics_text(call.engine, stats.running.get(call.key, 0), stats.served.get(call.key, 0))
    return call.text(text, "text/plain; version=0.0.4; charset=utf-8")


async def _models(call: Call) -> Response:
    return call.json(engines.models_body(call.engine, call.pod_name))


async def _version(call: Call) -> Response:
    version = "0.5.1" if call.engine.kind == engines.OLLAMA else engines.VLLM_VERSION
    return call.json({"version": version})


async def _ollama_root(call: Call) -> Response:
    return call.text("Ollama is running")


async def _ollama_tags(call: Call) -> Response:
    model = call.engine.model
    return call.json({"models": [{"name": model, "model": model, "size": 2019393189}]})


async def _completions(call: Call) -> Response:
    return await _openai(call, chat=False)


async def _chat(call: Call) -> Response:
    return await _openai(call, chat=True)


Route = Callable[[Call], Awaitable[Response]]
_COMMON: dict[tuple[str, str], Route] = {
    ("GET", "/health"): _health,
    ("GET", "/healthz"): _health,
    ("GET", "/ping"): _health,
    ("GET", "/metrics"): _metrics,
}
_OPENAI: dict[tuple[str, str], Route] = {
    ("GET", "/v1/models"): _models,
    ("GET", "/version"): _version,
    ("POST", "/v1/completions"): _completions,
    ("POST", "/v1/chat/completions"): _chat,
}
_OLLAMA: dict[tuple[str, str], Route] = {
    ("GET", "/"): _ollama_root,
    ("GET", "/api/tags"): _ollama_tags,
    ("GET", "/api/version"): _version,
}


async def serve(sim: KubeSim, request: Request, pod: dict[str, Any], path: str) -> Response:
    meta = pod.get("metadata") or {}
    call = Call(
        sim,
        request,
        pod,
        (str(meta.get("namespace")), str(meta.get("name"))),
        engines.detect(pod),
        "/" + path.lstrip("/"),
    )
    routes = dict(_COMMON)
    if call.engine.kind != engines.GENERIC:
        routes.update(_OPENAI)
    if call.engine.kind == engines.OLLAMA:
        routes.update(_OLLAMA)
    route = routes.get((request.method, call.path))
    if route is not None:
        return await route(call)
    if any(p == call.path for _, p in routes):
        return call.json({"detail": "Method Not Allowed"}, 405)
    if call.engine.kind == engines.GENERIC:
        return call.json({"message": f"kubesim: {call.pod_name} answered {request.method} {call.path}"})
    return call.json({"detail": "Not Found"}, 404)


def _prompt(body: dict[str, Any], chat: bool) -> str:
    if chat:
        messages = body.get("messages") or []
        return "\n".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
    prompt = body.get("prompt") or ""
    return " ".join(str(p) for p in prompt) if isinstance(prompt, list) else str(prompt)


@dataclass
class Generation:
    call: Call
    chat: bool
    model: str
    tokens: list[str]
    usage: dict[str, int]
    per_token: float
    include_usage: bool
    rid: str = ""
    created: int = 0

    @property
    def object(self) -> str:
        if self.chat:
            return "chat.completion.chunk"
        return "text_completion"

    def chunk(self, delta: dict[str, Any] | str, finish: str | None) -> bytes:
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
        if self.chat:
            choice["delta"] = delta
        else:
            choice.update(text=delta, stop_reason=None)
        return self.sse({"choices": [choice]})

    def sse(self, extra: dict[str, Any]) -> bytes:
        data = {
            "id": self.rid,
            "object": self.object,
            "created": self.created,
            "model": self.model,
            **extra,
            "kubesim_pod": self.call.pod_name,
        }
        return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


async def _read_body(call: Call) -> dict[str, Any] | Response:
    try:
        body = json.loads(await call.request.body() or b"{}")
    except ValueError as exc:
        return call.error(400, f"invalid JSON body: {exc}", "BadRequestError")
    if not isinstance(body, dict):
        return call.error(400, "the body must be a JSON object", "BadRequestError")
    return body


async def _openai(call: Call, *, chat: bool) -> Response:
    body = await _read_body(call)
    if isinstance(body, Response):
        return body
    model = str(body.get("model") or call.engine.model)
    if model != call.engine.model:
        return call.error(404, f"The model `{model}` does not exist.", "NotFoundError")
    try:
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
    except (TypeError, ValueError):
        max_tokens = -1
    if max_tokens < 1:
        return call.error(400, "max_tokens must be at least 1", "BadRequestError")
    prompt = _prompt(body, chat)
    tokens = engines.generate_tokens(prompt, max_tokens, call.pod_name)
    prompt_tokens = engines.count_tokens(prompt)
    gen = Generation(
        call=call,
        chat=chat,
        model=model,
        tokens=tokens,
        usage={
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        },
        per_token=_token_seconds(call.sim, call.pod),
        include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        rid=engines.completion_id("chatcmpl" if chat else "cmpl"),
        created=int(time.time()),
    )
    if body.get("stream"):
        return StreamingResponse(
            _stream(gen), media_type="text/event-stream", headers={POD_HEADER: call.pod_name}
        )
    stats = engines.stats_for(call.sim)
    stats.begin(call.key)
    try:
        await call.sim.clock.sleep(gen.per_token * len(tokens))
    finally:
        stats.end(call.key)
    text = "".join(tokens)
    choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": "length", "stop_reason": None}
    if chat:
        choice["message"] = {"role": "assistant", "content": text, "tool_calls": []}
    else:
        choice["text"] = text
    return call.json(
        {
            "id": gen.rid,
            "object": "chat.completion" if chat else "text_completion",
            "created": gen.created,
            "model": model,
            "choices": [choice],
            "usage": gen.usage,
        }
    )


async def _stream(gen: Generation) -> AsyncIterator[bytes]:
    stats = engines.stats_for(gen.call.sim)
    # Counted from the first byte to the last: a client that disconnects cancels this generator, and the
    # `finally` still takes the request out of the in-flight gauge.
    stats.begin(gen.call.key)
    try:
        if gen.chat:
            yield gen.chunk({"role": "assistant", "content": ""}, None)
        for i, tok in enumerate(gen.tokens):
            await gen.call.sim.clock.sleep(gen.per_token)
            last = i == len(gen.tokens) - 1
            yield gen.chunk({"content": tok} if gen.chat else tok, "length" if last else None)
        if gen.include_usage:
            yield gen.sse({"choices": [], "usage": gen.usage})
        yield b"data: [DONE]\n\n"
    finally:
        stats.end(gen.call.key)
