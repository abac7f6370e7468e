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
from collections.abc import AsyncIterator
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
TOKEN_LATENCY_ANNOTATION = "kubesim.podium.dev/token-seconds"

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


async def handle_service_proxy(sim: KubeSim, request: Request, namespace: str, service_ref: str,
                               path: str) -> Response:
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


async def handle_pod_proxy(sim: KubeSim, request: Request, namespace: str, pod_ref: str, path: str) -> Response:
    name, _ = _split_ref(pod_ref)
    pod = sim.store.peek(PODS, namespace, name)
    if pod is None:
        raise errors.not_found(PODS, name)
    if (pod.get("status") or {}).get("phase") != "Running" or not (pod.get("status") or {}).get("podIP"):
        raise ApiError(503, "ServiceUnavailable", f'pod "{name}" is not running')
    return await serve(sim, request, pod, path)


# --- the engine's HTTP API ------------------------------------------------------------------------


def _json(body: dict[str, Any], pod: str, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={POD_HEADER: pod})


def _token_seconds(sim: KubeSim, pod: dict[str, Any]) -> float:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(TOKEN_LATENCY_ANNOTATION)
    try:
        return float(raw) if raw is not None else settings_for(sim).timings.token_seconds
    except ValueError:
        return settings_for(sim).timings.token_seconds


async def serve(sim: KubeSim, request: Request, pod: dict[str, Any], path: str) -> Response:
    meta = pod.get("metadata") or {}
    pod_name = str(meta.get("name"))
    key = (str(meta.get("namespace")), pod_name)
    engine = engines.detect(pod)
    path = "/" + path.lstrip("/")
    method = request.method
    stats = engines.stats_for(sim)
    if method == "GET" and path in ("/health", "/healthz", "/ping"):
        return Response(b"", status_code=200, headers={POD_HEADER: pod_name})
    if method == "GET" and path == "/metrics":
        text = engines.metrics_text(engine, stats.running.get(key, 0), stats.served.get(key, 0))
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8",
                                 headers={POD_HEADER: pod_name})
    if engine.kind == engines.GENERIC:
        return _json({"message": f"kubesim: {pod_name} answered {method} {path}", "kubesim_pod": pod_name}, pod_name)
    if method == "GET" and path == "/v1/models":
        return _json(engines.models_body(engine, pod_name), pod_name)
    if engine.kind == engines.OLLAMA and method == "GET" and path == "/":
        return PlainTextResponse("Ollama is running", headers={POD_HEADER: pod_name})
    if engine.kind == engines.OLLAMA and method == "GET" and path == "/api/tags":
        return _json({"models": [{"name": engine.model, "model": engine.model, "size": 2019393189}],
                      "kubesim_pod": pod_name}, pod_name)
    if engine.kind == engines.OLLAMA and method == "GET" and path == "/api/version":
        return _json({"version": "0.5.1", "kubesim_pod": pod_name}, pod_name)
    if method == "GET" and path == "/version":
        return _json({"version": engines.VLLM_VERSION, "kubesim_pod": pod_name}, pod_name)
    if path in ("/v1/completions", "/v1/chat/completions"):
        if method != "POST":
            return _json({"detail": "Method Not Allowed", "kubesim_pod": pod_name}, pod_name, 405)
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return _json({"object": "error", "message": f"invalid JSON body: {exc}", "type": "BadRequestError",
                          "code": 400, "kubesim_pod": pod_name}, pod_name, 400)
        return await _generate(sim, pod, key, engine, body, chat=path.endswith("chat/completions"))
    return _json({"detail": "Not Found", "kubesim_pod": pod_name}, pod_name, 404)


def _prompt(body: dict[str, Any], chat: bool) -> str:
    if chat:
        messages = body.get("messages") or []
        return "\n".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
    prompt = body.get("prompt") or ""
    return " ".join(str(p) for p in prompt) if isinstance(prompt, list) else str(prompt)


async def _generate(sim: KubeSim, pod: dict[str, Any], key: tuple[str, str], engine: engines.Engine,
                    body: dict[str, Any], *, chat: bool) -> Response:
    pod_name = key[1]
    model = str(body.get("model") or engine.model)
    if model != engine.model:
        return _json({"object": "error", "message": f"The model `{model}` does not exist.",
                      "type": "NotFoundError", "param": None, "code": 404, "kubesim_pod": pod_name}, pod_name, 404)
    try:
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
    except (TypeError, ValueError):
        max_tokens = -1
    if max_tokens < 1:
        return _json({"object": "error", "message": "max_tokens must be at least 1", "type": "BadRequestError",
                      "code": 400, "kubesim_pod": pod_name}, pod_name, 400)
    prompt = _prompt(body, chat)
    tokens = engines.generate_tokens(prompt, max_tokens, pod_name)
    usage = {"prompt_tokens": engines.count_tokens(prompt), "completion_tokens": len(tokens),
             "total_tokens": engines.count_tokens(prompt) + len(tokens)}
    per_token = _token_seconds(sim, pod)
    rid = engines.completion_id("chatcmpl" if chat else "cmpl")
    created = int(time.time())
    stats = engines.stats_for(sim)
    if body.get("stream"):
        return StreamingResponse(_stream(sim, key, rid, created, model, tokens, per_token, chat, usage, body),
                                 media_type="text/event-stream", headers={POD_HEADER: pod_name})
    stats.begin(key)
    try:
        await sim.clock.sleep(per_token * len(tokens))
    finally:
        stats.end(key)
    text = "".join(tokens)
    choice: dict[str, Any]
    if chat:
        choice = {"index": 0, "message": {"role": "assistant", "content": text, "tool_calls": []},
                  "logprobs": None, "finish_reason": "length", "stop_reason": None}
    else:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "length", "stop_reason": None}
    return _json({"id": rid, "object": "chat.completion" if chat else "text_completion", "created": created,
                  "model": model, "choices": [choice], "usage": usage, "kubesim_pod": pod_name}, pod_name)


async def _stream(sim: KubeSim, key: tuple[str, str], rid: str, created: int, model: str, tokens: list[str],
                  per_token: float, chat: bool, usage: dict[str, int], body: dict[str, Any]) -> AsyncIterator[bytes]:
    stats = engines.stats_for(sim)
    pod_name = key[1]
    obj = "chat.completion.chunk" if chat else "text_completion"

    def chunk(delta: dict[str, Any] | str, finish: str | None) -> bytes:
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
        if chat:
            choice["delta"] = delta
        else:
            choice.update(text=delta, stop_reason=None)
        data = {"id": rid, "object": obj, "created": created, "model": model, "choices": [choice],
                "kubesim_pod": pod_name}
        return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    stats.begin(key)
    try:
        if chat:
            yield chunk({"role": "assistant", "content": ""}, None)
        for i, tok in enumerate(tokens):
            await sim.clock.sleep(per_token)
            last = i == len(tokens) - 1
            yield chunk({"content": tok} if chat else tok, "length" if last else None)
        if (body.get("stream_options") or {}).get("include_usage"):
            data = {"id": rid, "object": obj, "created": created, "model": model, "choices": [], "usage": usage,
                    "kubesim_pod": pod_name}
            yield b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
    finally:
        stats.end(key)
