"""Kubelet through the official client: pod lifecycle, engine logs, readiness delay, crash loops, deletion."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import wait_for, watch_until

SPEED = 40


@pytest.fixture
def core(small_cluster: tuple[RunningKubeSim, client.ApiClient]) -> client.CoreV1Api:
    return client.CoreV1Api(small_cluster[1])


def pod(
    name: str,
    image: str,
    args: list[str] | None = None,
    annotations: dict[str, str] | None = None,
    **container: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "containers": [{"name": "main", "image": image, "args": args or [], **container}],
            "terminationGracePeriodSeconds": 30,
        },
    }


def ready(core: client.CoreV1Api, ns: str, name: str) -> Any:
    p = core.read_namespaced_pod(name, ns)
    return p if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) else None


def test_vllm_pod_runs_becomes_ready_and_logs_like_vllm(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns,
        pod(
            "qwen",
            "vllm/vllm-openai:v0.6.4",
            ["--model", "Qwen/Qwen3-0.6B", "--tensor-parallel-size", "1"],
            resources={"limits": {"nvidia.com/gpu": "1"}},
        ),
    )
    p = wait_for(lambda: ready(core, ns, "qwen"), what="vLLM pod ready")
    assert p.status.phase == "Running"
    assert p.status.pod_ip.startswith("10.")
    assert p.status.host_ip.startswith("10.0.")
    assert p.status.start_time is not None
    assert p.status.qos_class == "BestEffort" or p.status.qos_class in ("Burstable", "Guaranteed")
    cs = p.status.container_statuses[0]
    assert (cs.ready, cs.started, cs.restart_count) == (True, True, 0)
    assert cs.state.running.started_at is not None
    assert {c.type for c in p.status.conditions} >= {
        "PodScheduled",
        "Initialized",
        "ContainersReady",
        "Ready",
    }
    logs = core.read_namespaced_pod_log("qwen", ns)
    assert "Starting vLLM API server on http://0.0.0.0:8000" in logs
    assert "Starting to load model Qwen/Qwen3-0.6B" in logs
    assert "Uvicorn running on http://0.0.0.0:8000" in logs
    reasons = [
        e.reason for e in core.list_namespaced_event(ns, field_selector="involvedObject.name=qwen").items
    ]
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert reason in reasons
    other_ips = {p.status.pod_ip for p in core.list_pod_for_all_namespaces().items if p.status.pod_ip}
    assert p.status.pod_ip in other_ips


def test_sglang_and_ollama_logs(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns,
        pod(
            "sg",
            "lmsysorg/sglang:latest",
            command=[
                "python3",
                "-m",
                "sglang.launch_server",
                "--model-path",
                "meta-llama/Llama-3.1-8B-Instruct",
                "--port",
                "30000",
            ],
        ),
    )
    core.create_namespaced_pod(ns, pod("ol", "ollama/ollama:0.5.1"))
    wait_for(lambda: ready(core, ns, "sg") and ready(core, ns, "ol"), what="both ready")
    sg = core.read_namespaced_pod_log("sg", ns)
    assert "model_path='meta-llama/Llama-3.1-8B-Instruct'" in sg
    assert "The server is fired up and ready to roll!" in sg
    assert "Listening on [::]:11434" in core.read_namespaced_pod_log("ol", ns)


def test_readiness_probe_initial_delay_is_honoured(core: client.CoreV1Api, ns: str) -> None:
    delay = 40  # simulated seconds: 1 s real at speed 40
    created = core.create_namespaced_pod(
        ns,
        pod(
            "slow",
            "nginx:1.27",
            readinessProbe={"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": delay},
        ),
    )

    def is_ready(p: Any) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])

    # Every state from the create on, from a watch: however slow the machine, the Running-but-not-Ready
    # state cannot be skipped over the way a poll could skip it.
    seen = [
        ev["object"]
        for ev in watch_until(
            core.list_namespaced_pod,
            ns,
            field_selector="metadata.name=slow",
            resource_version=created.metadata.resource_version,
            until=lambda ev: is_ready(ev["object"]),
        )
    ]
    running = next(p for p in seen if p.status.phase == "Running")
    assert not is_ready(running)
    assert not running.status.container_statuses[0].ready
    started = running.status.container_statuses[0].state.running.started_at
    ready_at = next(c.last_transition_time for c in seen[-1].status.conditions if c.type == "Ready")
    # Timestamps have second precision; the wait is delay/speed real seconds, so only check the order.
    assert ready_at >= started


def test_crash_annotation_gives_crash_loop_back_off(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns, pod("crashy", "busybox:1.36", annotations={"kubesim.podium.dev/crash": "true"})
    )

    def backing_off() -> Any:
        p = core.read_namespaced_pod("crashy", ns)
        cs = (p.status.container_statuses or [None])[0]
        if cs is not None and cs.state.waiting and cs.state.waiting.reason == "CrashLoopBackOff":
            return cs
        return None

    cs = wait_for(backing_off, what="CrashLoopBackOff")
    assert cs.restart_count >= 1
    assert cs.last_state.terminated.exit_code == 1
    assert cs.last_state.terminated.reason == "Error"
    assert "back-off" in cs.state.waiting.message
    events = core.list_namespaced_event(ns, field_selector="involvedObject.name=crashy,reason=BackOff").items
    assert events
    assert events[0].type == "Warning"
    # After the back-off it runs again, and crashes again.
    wait_for(
        lambda: core.read_namespaced_pod("crashy", ns).status.container_statuses[0].restart_count >= 2,
        what="second restart",
    )


def test_graceful_deletion_kills_then_removes(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("victim", "nginx:1.27"))
    wait_for(lambda: ready(core, ns, "victim"), what="ready")
    # The delete answers the pod as it is then: graceful, so still there with a deletionTimestamp. (Reading
    # it afterwards would race the kubelet, which may already have removed it on a slow machine.)
    deleted = core.delete_namespaced_pod("victim", ns)
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 30

    # Every change after the delete, in order, from a watch: no state can be missed between two polls.
    seen = watch_until(
        core.list_namespaced_pod,
        ns,
        field_selector="metadata.name=victim",
        resource_version=deleted.metadata.resource_version,
        until=lambda ev: ev["type"] == "DELETED",
    )
    removed_rv = int(seen[-1]["object"].metadata.resource_version)
    assert all(ev["object"].metadata.deletion_timestamp is not None for ev in seen)
    kills = core.list_namespaced_event(ns, field_selector="involvedObject.name=victim,reason=Killing").items
    assert [k.message for k in kills] == ["Stopping container main"]
    assert int(kills[0].metadata.resource_version) < removed_rv  # killed first, then removed


def test_generic_job_container_echo_and_completion(core: client.CoreV1Api, ns: str) -> None:
    body = pod("once", "busybox:1.36", command=["sh", "-c", "echo hello from kubesim"])
    body["spec"]["restartPolicy"] = "Never"
    core.create_namespaced_pod(ns, body)
    p = wait_for(
        lambda: (p := core.read_namespaced_pod("once", ns)).status.phase == "Succeeded" and p,
        what="pod succeeded",
    )
    term = p.status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (0, "Completed")
    assert "hello from kubesim" in core.read_namespaced_pod_log("once", ns)

    body = pod("boom", "busybox:1.36", annotations={"kubesim.podium.dev/fail": "true"})
    body["spec"]["restartPolicy"] = "Never"
    core.create_namespaced_pod(ns, body)
    p = wait_for(
        lambda: (p := core.read_namespaced_pod("boom", ns)).status.phase == "Failed" and p, what="pod failed"
    )
    assert p.status.container_statuses[0].state.terminated.exit_code == 1
