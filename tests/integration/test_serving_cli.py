"""The `podium` serving commands as a script uses them: a real API on a real port, the worker, the watcher
and kubesim; output formats and exit codes checked."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from podium_cli.client import ExitCode
from support.waiting import wait_until
from worker.fixtures import Pipeline

from integration.cli_helpers import *  # noqa: F403  (api_url, podium)
from integration.cli_helpers import Podium
from integration.serving_helpers import *  # noqa: F403  (serving_api, watcher, helpers)
from integration.serving_helpers import ready_replicas

pytestmark = pytest.mark.usefixtures("worker", "watcher")


def test_pool_workflow_from_the_cli(
    podium: Podium, pipeline: Pipeline, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    where = ["-c", sim_cluster, "-n", namespace]
    deployed = podium(
        "-o",
        "json",
        "deploy",
        "--pool",
        "--replicas",
        "2",
        "--command-line",
        "vllm serve Qwen/Qwen3-0.6B",
        "--wait",
        *where,
    )
    assert deployed.exit_code == 0, deployed.output
    pool = json.loads(deployed.stdout)["result"]["name"]
    ready_replicas(k8s.AppsV1Api(kube), namespace, pool, 2)

    assert podium("service", "create", pool, "prod", "--wait", *where).exit_code == 0

    listed = wait_until(
        lambda: (
            (r := podium("-o", "json", "service", "list", *where)).exit_code == 0 and json.loads(r.stdout)
        ),
        20,
        "business services",
    )
    assert [s["business"] for s in listed] == ["prod"]

    # Planned now from the watcher's view, applied as one bulk operation with a child per moved pod.
    distributed = podium("-o", "json", "pool", "distribute", pool, "prod=1", "--counts", *where)
    assert distributed.exit_code == 0, distributed.output
    parent = json.loads(distributed.stdout)
    assert parent["kind"] == "assign_pods"
    children = pipeline.children(parent["id"])
    assert [c.kind for c in children] == ["assign_pod"]
    assert parent["progress"]["succeeded"] == 1

    def status() -> dict | None:
        r = podium("-o", "json", "pool", "status", pool, *where)
        body = json.loads(r.stdout) if r.exit_code == 0 else None
        return body if body and body["pods_per_business"] == {"prod": 1, "unassigned": 1} else None

    assert wait_until(status, 20, "pool status")["available_for_scale_down"] == 1
    table = podium("pool", "status", pool, *where)
    assert table.exit_code == 0
    assert "available for scale-down: 1" in table.output

    # Scale down by 2 with one unassigned pod: the operation fails, exit code 1, message says why.
    refused = podium("scale", pool, "0", "--wait", *where)
    assert refused.exit_code == ExitCode.failed
    assert "need 2 unassigned pods, only 1 available" in refused.output

    answered = podium("-o", "json", "invoke", f"{pool}-prod", "--path", "/v1/models", *where)
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.stdout)["curl"].startswith("curl ")

    # Streaming: server-sent events printed as they arrive, through the client's stream_post.
    body = {"model": "Qwen/Qwen3-0.6B", "prompt": "hi", "max_tokens": 3, "stream": True}
    streamed = podium("invoke", f"{pool}-prod", "--path", "/v1/completions", "-d", json.dumps(body), *where)
    assert streamed.exit_code == 0, streamed.output
    events = [line for line in streamed.stdout.splitlines() if line.startswith("data: ")]
    assert len(events) >= 2, streamed.stdout
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0].removeprefix("data: "))["object"] == "text_completion"

    bad = podium("deploy", "--command-line", "vllm serve Qwen/Qwen3-0.6B; reboot", *where)
    assert bad.exit_code == ExitCode.usage

    in_use = podium("undeploy", pool, "--wait", *where)
    assert in_use.exit_code == ExitCode.failed
    assert podium("undeploy", pool, "--force", "--wait", *where).exit_code == 0
