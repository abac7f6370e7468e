"""Test console: forward one OpenAI-compatible request to a Service through the Kubernetes API server's
service proxy, with the cluster's own credentials, and build the equivalent curl command.

Only the OpenAI paths are forwarded (the proxy could otherwise reach any port and path of any Service);
the body is JSON the caller sent, re-serialised, never interpolated. Streaming answers are passed through
chunk by chunk as the engine produces them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from podium_shared.errors import Invalid, PodiumError
from podium_shared.kube.clients import ClusterClients
from podium_shared.kube.errors import kube_call
from podium_shared.serving.curl import curl_command
from podium_shared.serving.describe import service_endpoint

InvokePath = Literal["/v1/models", "/v1/completions", "/v1/chat/completions"]
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class InvokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: InvokePath = "/v1/chat/completions"
    # The OpenAI request body; `stream: true` in it asks for server-sent events.
    body: dict[str, Any] | None = None
    timeout_seconds: float = Field(60.0, gt=0, le=600)

    @property
    def method(self) -> str:
        return "GET" if self.path == "/v1/models" else "POST"

    @property
    def stream(self) -> bool:
        return bool(self.body and self.body.get("stream") is True)


@dataclass
class Prepared:
    proxy_path: str
    curl: str
    body: bytes | None


def prepare(svc: dict[str, Any], req: InvokeRequest) -> Prepared:
    if req.method == "GET" and req.body is not None:
        raise Invalid(f"{req.path} takes no body")
    if req.method == "POST" and req.body is None:
        raise Invalid(f"{req.path} needs a JSON body")
    meta = svc.get("metadata") or {}
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    endpoint = service_endpoint(svc)
    port = endpoint["port"]
    if port is None:
        raise Invalid(f'service "{name}" exposes no port')
    body_text = None if req.body is None else json.dumps(req.body, ensure_ascii=False)
    # What a person would run: the load balancer when it has an address, else the in-cluster DNS name.
    host = endpoint["address"] or f"{name}.{namespace}.svc.cluster.local"
    headers = {"Content-Type": "application/json"} if body_text is not None else None
    curl = curl_command(
        url=f"http://{host}:{port}{req.path}",
        method=req.method,
        body=body_text,
        headers=headers,
        stream=req.stream,
    )
    proxy = (
        f"/api/v1/namespaces/{quote(namespace, safe='')}/services/{quote(name, safe='')}:{int(port)}/proxy"
        f"{req.path}"
    )
    return Prepared(proxy, curl, None if body_text is None else body_text.encode())


@dataclass
class Upstream:
    status: int
    content_type: str
    chunks: Iterator[bytes]
    started: float


def send(kube: ClusterClients, prepared: Prepared, req: InvokeRequest) -> Upstream:
    headers = {"Accept": "*/*"}
    if prepared.body is not None:
        headers["Content-Type"] = "application/json"
    method, url, header_params, _body, _post = kube.api_client.param_serialize(
        method=req.method, resource_path=prepared.proxy_path, header_params=headers,
        auth_settings=["BearerToken"],
    )  # fmt: skip
    started = time.monotonic()
    with kube_call("proxy", kind="service"):
        # The raw pool manager: the generated client would read the whole body; we stream it.
        response = kube.api_client.rest_client.pool_manager.request(
            method, url, body=prepared.body, headers=header_params, preload_content=False,
            timeout=req.timeout_seconds,
        )  # fmt: skip
    content_type = str(response.headers.get("Content-Type", "application/octet-stream"))

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.stream(4096)
        finally:
            response.release_conn()

    return Upstream(response.status, content_type, chunks(), started)


def collect(upstream: Upstream, prepared: Prepared) -> dict[str, Any]:
    data = b""
    for chunk in upstream.chunks:
        data += chunk
        if len(data) > MAX_RESPONSE_BYTES:
            raise PodiumError(
                "the response is larger than the test console shows", code="too_large", status=502
            )
    text = data.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    return {
        "status": upstream.status,
        "content_type": upstream.content_type,
        "body": parsed if parsed is not None else text,
        "elapsed_ms": round((time.monotonic() - upstream.started) * 1000, 1),
        "curl": prepared.curl,
    }
