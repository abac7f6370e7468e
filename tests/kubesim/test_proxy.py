"""The service proxy through the official client: OpenAI-compatible answers, SSE, which pod answered,
round-robin across ready endpoints, 503 without endpoints, traffic moving after a relabel, in-flight
gauges."""

from __future__ import annotations

import json
import threading
from typing import Any, TypeVar

import pytest
from kubernetes import client

from kubesim.helpers import wait_for

T = TypeVar("T")


def proxy(
    api: client.ApiClient,
    ns: str,
    service: str,
    path: str,
    *,
    method: str = "GET",
    body: dict[str, Any] | None = None,
) -> Any:
    """A raw call through the API server's service proxy with the official client, as Podium's test console
    makes it; raises ApiException for error answers like the generated methods do."""
    m, url, headers, payload, _ = api.param_serialize(
        method=method,
        resource_path=f"/api/v1/namespaces/{ns}/services/{service}/proxy/{path}",
        header_params={"Content-Type": "application/json", "Accept": "*/*"}
        if body is not None
        else {"Accept": "*/*"},
        body=body,
        auth_settings=["BearerToken"],
    )
    resp = api.call_api(m, url, header_params=headers, body=payload)
    resp.read()
    if not 200 <= resp.status < 300:
        raise client.ApiException(http_resp=resp)
    return resp


def setup_model(
    api: client.ApiClient, ns: str, pods: dict[str, str], token_seconds: str | None = None
) -> None:
    core = client.CoreV1Api(api)
    for svc in sorted(set(pods.values())):
        core.create_namespaced_service(
            ns,
            {
                "metadata": {"name": svc},
                "spec": {
                    "selector": {"model": "qwen3", "business": svc},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8000}],
                },
            },
        )
    for name, business in pods.items():
        ann = {"kubesim.podium.dev/token-seconds": token_seconds} if token_seconds else {}
        core.create_namespaced_pod(
            ns,
            {
                "metadata": {
                    "name": name,
                    "labels": {"model": "qwen3", "business": business},
                    "annotations": ann,
                },
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai:v0.6.4",
                            "args": ["--model", "Qwen/Qwen3-0.6B", "--port", "8000"],
                        }
                    ]
                },
            },
        )
    for svc in set(pods.values()):
        want = {n for n, b in pods.items() if b == svc}
        wait_for(lambda svc=svc, want=want: ready_pods(core, ns, svc) == want, what=f"{svc} endpoints ready")


def ready_pods(core: client.CoreV1Api, ns: str, svc: str) -> set[str]:
    ep = core.read_namespaced_endpoints(svc, ns)
    return {a.target_ref.name for s in ep.subsets or [] for a in s.addresses or []}


def test_completions_chat_models_health_and_pod_header(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    setup_model(api, ns, {"a-0": "prod"})
    r = proxy(api, ns, "prod", "v1/models")
    assert r.status == 200
    assert r.headers["X-Kubesim-Pod"] == "a-0"
    models = json.loads(r.data)
    assert models["data"][0]["id"] == "Qwen/Qwen3-0.6B"
    assert models["kubesim_pod"] == "a-0"

    r = proxy(
        api,
        ns,
        "prod:http",
        "v1/completions",
        method="POST",
        body={"model": "Qwen/Qwen3-0.6B", "prompt": "Hello", "max_tokens": 5},
    )
    body = json.loads(r.data)
    assert r.status == 200
    assert body["object"] == "text_completion"
    assert body["kubesim_pod"] == "a-0"
    assert len(body["choices"][0]["text"].split()) == 5
    assert body["usage"]["completion_tokens"] == 5

    r = proxy(
        api,
        ns,
        "prod",
        "v1/chat/completions",
        method="POST",
        body={"model": "Qwen/Qwen3-0.6B", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3},
    )
    chat = json.loads(r.data)
    assert chat["object"] == "chat.completion"
    assert chat["choices"][0]["message"]["role"] == "assistant"

    assert proxy(api, ns, "prod", "health").status == 200
    # The pod proxy answers the same way for one pod (the generated method returns the body as a string).
    via_pod = client.CoreV1Api(api).connect_get_namespaced_pod_proxy_with_path("a-0:8000", ns, "v1/models")
    assert "Qwen/Qwen3-0.6B" in via_pod
    assert "a-0" in via_pod
    with pytest.raises(client.ApiException) as exc:
        proxy(api, ns, "prod", "v1/completions", method="POST", body={"model": "other", "prompt": "x"})
    assert exc.value.status == 404


def test_streaming_sse_ends_with_done(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    setup_model(api, ns, {"s-0": "prod"})
    r = proxy(
        api,
        ns,
        "prod",
        "v1/chat/completions",
        method="POST",
        body={
            "model": "Qwen/Qwen3-0.6B",
            "messages": [{"role": "user", "content": "Tell me"}],
            "max_tokens": 6,
            "stream": True,
        },
    )
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert r.headers["X-Kubesim-Pod"] == "s-0"
    events = [line for line in r.data.decode().split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert len(chunks) == 7
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert all(c["object"] == "chat.completion.chunk" and c["kubesim_pod"] == "s-0" for c in chunks)


def test_round_robin_and_traffic_moves_after_relabel(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    core = client.CoreV1Api(api)
    setup_model(api, ns, {"p-0": "prod", "p-1": "prod", "p-2": "prod", "t-0": "test"})

    def who(svc: str, n: int) -> list[str]:
        return [proxy(api, ns, svc, "v1/models").headers["X-Kubesim-Pod"] for _ in range(n)]

    seen = who("prod", 6)
    assert sorted(seen) == ["p-0", "p-0", "p-1", "p-1", "p-2", "p-2"]  # every ready endpoint, evenly
    core.patch_namespaced_pod("p-2", ns, {"metadata": {"labels": {"business": "test"}}})
    wait_for(lambda: ready_pods(core, ns, "prod") == {"p-0", "p-1"}, what="p-2 left prod")
    assert set(who("prod", 6)) == {"p-0", "p-1"}
    assert set(who("test", 6)) == {"t-0", "p-2"}


def test_no_ready_endpoints_is_503_status(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    core = client.CoreV1Api(api)
    core.create_namespaced_service(
        ns, {"metadata": {"name": "empty"}, "spec": {"selector": {"app": "nothing"}, "ports": [{"port": 80}]}}
    )
    with pytest.raises(client.ApiException) as exc:
        proxy(api, ns, "empty", "v1/models")
    assert exc.value.status == 503
    status = json.loads(exc.value.body)
    assert status["kind"] == "Status"
    assert status["reason"] == "ServiceUnavailable"
    assert status["message"] == 'no endpoints available for service "empty"'
    with pytest.raises(client.ApiException) as exc:
        proxy(api, ns, "missing", "v1/models")
    assert exc.value.status == 404
    assert json.loads(exc.value.body)["message"] == 'services "missing" not found'


def test_metrics_show_in_flight_requests(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    # 0.5 simulated s per token at speed 40: a 120-token answer stays in flight for about 1.5 s real.
    setup_model(api, ns, {"m-0": "prod"}, token_seconds="0.5")

    def running() -> float:
        text = proxy(api, ns, "prod", "metrics").data.decode()
        line = next(x for x in text.splitlines() if x.startswith("vllm:num_requests_running"))
        return float(line.rsplit(" ", 1)[1])

    assert running() == 0.0
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                proxy(
                    api,
                    ns,
                    "prod",
                    "v1/completions",
                    method="POST",
                    body={"model": "Qwen/Qwen3-0.6B", "prompt": "drain", "max_tokens": 120},
                ).status
            )
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    wait_for(lambda: running() == 2.0, what="two requests in flight")
    for t in threads:
        t.join(timeout=15)
    assert results == [200, 200]
    assert running() == 0.0
