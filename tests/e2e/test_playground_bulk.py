"""The playground streams a chat completion from a kubesim model Service and shows a curl command that,
run, gives the same kind of answer; a bulk relabel submitted through the API shows its progress bar
reaching 100 % on /operations/{id}. One module: the stack (kubesim, worker, watcher, API) starts once."""

from __future__ import annotations

import json
import shlex
import subprocess
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect
from podium_kubesim.runner import RunningKubeSim
from support.waiting import wait_until
from worker.fixtures import Pipeline

from e2e.conftest import check_accessibility, screenshot
from e2e.stack import ApiServer, Person

MODEL = "Qwen/Qwen3-0.6B"
NAMESPACE = "default"


def _submit(api: ApiServer, who: Person, body: dict[str, Any]) -> str:
    r = httpx.post(f"{api.url}/api/v1/commands", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {who.token}"})  # fmt: skip
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def model_service(
    api: ApiServer, people: dict[str, Person], pipeline: Pipeline, sim_cluster: str, kube: k8s.ApiClient
) -> str:
    """A standard (non-pool) model deployment: its own LoadBalancer Service, named like the deployment."""
    name = f"e2e-chat-{uuid.uuid4().hex[:5]}"
    op = _submit(api, people["operator"], {
        "kind": "deploy_model",
        "cluster": sim_cluster,
        "params": {"namespace": NAMESPACE, "name": name, "engine": "vllm", "model": MODEL,
                   "gpus_per_replica": 1, "replicas": 1},
    })  # fmt: skip
    assert pipeline.wait_finished(op, timeout=120).status.value == "succeeded"
    apps = k8s.AppsV1Api(kube)
    wait_until(lambda: (apps.read_namespaced_deployment(name, NAMESPACE).status.ready_replicas or 0) == 1,
               120, "the model's pod to be ready")  # fmt: skip
    return name


def _sse_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of a server-sent-events answer (`data: {...}` lines, `data: [DONE]` last)."""
    lines = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    assert lines, f"no server-sent events in {text[:300]!r}"
    assert lines[-1] == "[DONE]", f"the stream did not end with [DONE]: {lines[-3:]}"
    return [json.loads(line) for line in lines[:-1]]


def _content(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c.get("delta", {}).get("content") or "" for chunk in chunks for c in chunk.get("choices", [])
    )


def test_the_playground_streams_a_chat_completion_and_its_curl_gives_the_same_kind_of_answer(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, model_service: str,
    kubesim: RunningKubeSim,
) -> None:  # fmt: skip
    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/playground")
    target = f"{NAMESPACE}/{model_service}"
    page.get_by_test_id("playground-service").click()
    page.locator(f".ant-select-dropdown:visible .ant-select-item-option[title='{target}']").click()
    # Picking the Service puts its model id into the chat template's body.
    body = json.loads(page.get_by_test_id("playground-body").input_value())
    assert body["model"] == MODEL
    assert body["stream"] is True
    page.get_by_test_id("playground-send").click()

    expect(page.get_by_test_id("playground-status")).to_have_text("200", timeout=60_000)
    shown = page.get_by_test_id("playground-output").inner_text().strip()
    assert shown, "no tokens shown"
    # Tokens were read as they arrived: the page timed the first one.
    expect(page.get_by_test_id("playground-meta")).to_contain_text("first token after")
    pod = page.get_by_test_id("playground-pod").inner_text()
    assert pod.startswith(model_service), pod
    check_accessibility(page, "playground")
    screenshot(page, "playground")

    curl = page.get_by_test_id("playground-curl").text_content() or ""
    argv = shlex.split(curl)
    assert argv[0] == "curl"
    assert "-N" in argv  # streamed, like the page's request
    url = urlsplit(argv[-1])
    assert url.path == "/v1/chat/completions"
    assert url.hostname
    assert url.port
    # The command names the Service's own address (its load balancer, or the in-cluster DNS name), which
    # only the cluster's network reaches; here the same Service answers through the API server's service
    # proxy, which is what Podium itself uses.
    argv[-1] = (
        f"{kubesim.url}/api/v1/namespaces/{NAMESPACE}/services/{model_service}:{url.port}/proxy{url.path}"
    )
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    chunks = _sse_chunks(ran.stdout)
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk["model"] for chunk in chunks} == {MODEL}
    assert _content(chunks).strip(), "the curl's stream carried no text"
    assert all(str(chunk.get("kubesim_pod", "")).startswith(model_service) for chunk in chunks)


def test_a_bulk_relabel_shows_its_progress_reaching_100_percent(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, api: ApiServer,
    kube: k8s.ApiClient,
) -> None:  # fmt: skip
    core = k8s.CoreV1Api(kube)
    batch = uuid.uuid4().hex[:6]
    names = [f"e2e-bulk-{batch}-{i}" for i in range(12)]
    for name in names:
        core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": name}})
    page = signed_in(people["viewer"])
    items = [
        {"kind": "label",
         "params": {"namespace": NAMESPACE, "kind": "configmap", "name": n, "labels": {"batch": batch}}}
        for n in names
    ]  # fmt: skip
    op = _submit(api, people["operator"], {
        "kind": "bulk", "cluster": sim_cluster, "params": {"items": items, "concurrency": 2},
    })  # fmt: skip
    page.goto(f"/operations/{op}")
    progress = page.get_by_test_id("op-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("data-percent", "100", timeout=90_000)
    expect(page.get_by_test_id("op-summary").get_by_test_id("op-status")).to_have_attribute(
        "data-status", "succeeded"
    )
    expect(page.get_by_test_id("bulk-items").get_by_test_id("row-count")).to_have_text("12 of 12 rows")
    labelled = core.list_namespaced_config_map(NAMESPACE, label_selector=f"batch={batch}").items
    assert sorted(c.metadata.name for c in labelled) == sorted(names)
    check_accessibility(page, "bulk operation")
    screenshot(page, "operation-bulk")
