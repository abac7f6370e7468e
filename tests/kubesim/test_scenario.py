"""Scenarios: the built-in clusters, custom files (taints, objects, faults), and their errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from podium_kubesim.resources import resource
from podium_kubesim.runner import RunningKubeSim
from podium_kubesim.scenario import (
    ScenarioError,
    group_nodes,
    parse_settings,
    read_scenario,
    resize_node_group,
    settings_for,
)
from podium_kubesim.sim import KubeSim

NODES = resource("nodes")


async def test_default_scenario_is_a_small_hyperpod_cluster() -> None:
    sim = KubeSim(None, speed=50)
    await sim.start()
    try:
        nodes = sim.store.list(NODES)
        by_type: dict[str, list[dict[str, Any]]] = {}
        for n in nodes:
            by_type.setdefault(n["metadata"]["labels"]["node.kubernetes.io/instance-type"], []).append(n)
        assert {t: len(v) for t, v in by_type.items()} == {
            "m5.2xlarge": 2,
            "ml.g5.12xlarge": 2,
            "ml.p4d.24xlarge": 1,
        }
        cpu = by_type["m5.2xlarge"][0]
        assert cpu["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] == "system-cpu"
        assert cpu["metadata"]["name"].endswith(".us-west-2.compute.internal")
        assert "nvidia.com/gpu" not in cpu["status"]["capacity"]
        g5 = by_type["ml.g5.12xlarge"][0]
        labels = g5["metadata"]["labels"]
        assert labels["sagemaker.amazonaws.com/compute-type"] == "hyperpod"
        assert labels["sagemaker.amazonaws.com/instance-group-name"] == "inference-g5"
        assert labels["topology.kubernetes.io/zone"].startswith("us-west-2")
        assert labels["kubernetes.io/hostname"] == g5["metadata"]["name"]
        assert g5["metadata"]["name"].startswith("hyperpod-i-")
        assert g5["status"]["capacity"]["nvidia.com/gpu"] == "4"
        assert g5["status"]["allocatable"]["nvidia.com/gpu"] == "4"
        assert g5["status"]["capacity"]["cpu"] == "48"
        assert g5["spec"]["providerID"].startswith("aws:///us-west-2")
        ready = next(c for c in g5["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
        assert g5["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.")
        assert {a["type"] for a in g5["status"]["addresses"]} == {"InternalIP", "InternalDNS", "Hostname"}
        p4d = by_type["ml.p4d.24xlarge"][0]
        assert p4d["status"]["capacity"]["nvidia.com/gpu"] == "8"
        assert p4d["metadata"]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"
        namespaces = {n["metadata"]["name"] for n in sim.store.list(resource("namespaces"))}
        assert {"default", "kube-system", "kube-public"} <= namespaces
        assert (
            sim.store.get(resource("services"), "default", "kubernetes")["spec"]["clusterIP"] == "10.100.0.1"
        )
    finally:
        await sim.stop()


async def test_same_scenario_gives_same_node_names() -> None:
    names = []
    for _ in range(2):
        sim = KubeSim("small", speed=50)
        await sim.start()
        names.append(sorted(n["metadata"]["name"] for n in sim.store.list(NODES)))
        await sim.stop()
    assert names[0] == names[1]


def test_large_scenario_describes_1000_nodes() -> None:
    data = read_scenario("large")
    assert sum(int(g["count"]) for g in data["nodeGroups"]) == 1000


async def test_custom_scenario_file_with_taints_objects_and_faults(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "custom",
                "namespaces": ["team-a"],
                "timings": {"pullSeconds": 0.1, "startSeconds": 0.1, "readySeconds": 0.1},
                "faults": {"crashPods": ["team-a/flaky-*"]},
                "nodeGroups": [
                    {
                        "name": "gpu",
                        "kind": "hyperpod",
                        "instanceType": "ml.p5.48xlarge",
                        "count": 2,
                        "notReady": 1,
                        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                        "labels": {"team": "a"},
                    },
                    {"name": "odd", "instanceType": "x1.custom", "cpu": 4, "memoryGi": 8, "count": 1},
                ],
                "objects": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "cfg", "namespace": "team-a"},
                        "data": {"k": "v"},
                    },
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": "web"},
                        "spec": {
                            "replicas": 1,
                            "selector": {"matchLabels": {"app": "web"}},
                            "template": {
                                "metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                            },
                        },
                    },
                ],
            }
        )
    )
    sim = KubeSim(str(path), speed=50)
    await sim.start()
    try:
        settings = settings_for(sim)
        assert settings.timings.pull_seconds == 0.1
        assert settings.faults.matches(settings.faults.crash_pods, "team-a", "flaky-1")
        assert not settings.faults.matches(settings.faults.crash_pods, "default", "flaky-1")
        gpu = sim.store.list(NODES, label_selector="team=a")
        assert len(gpu) == 2
        assert all(n["spec"]["taints"][0]["key"] == "nvidia.com/gpu" for n in gpu)
        not_ready = [
            n
            for n in gpu
            if any(c["type"] == "Ready" and c["status"] != "True" for c in n["status"]["conditions"])
        ]
        assert len(not_ready) == 1
        assert any(t["key"] == "node.kubernetes.io/not-ready" for t in not_ready[0]["spec"]["taints"])
        odd = sim.store.list(NODES, label_selector="eks.amazonaws.com/nodegroup=odd")[0]
        assert odd["status"]["capacity"]["cpu"] == "4"
        assert sim.store.get(resource("configmaps"), "team-a", "cfg")["data"] == {"k": "v"}
        # Pre-existing objects are reconciled like any other: the Deployment gets its pod (on the CPU node,
        # since the GPU nodes are tainted).

        async def pod_on_node() -> dict[str, Any]:
            while True:
                pods = sim.store.list(resource("pods"), "default", label_selector="app=web")
                if pods and pods[0]["spec"].get("nodeName"):
                    return pods[0]
                await asyncio.sleep(0.02)

        pod = await asyncio.wait_for(pod_on_node(), timeout=30)
        assert pod["spec"]["nodeName"] == odd["metadata"]["name"]
    finally:
        await sim.stop()


def test_scenario_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        read_scenario("nope")
    with pytest.raises(ScenarioError, match="does not exist"):
        read_scenario(str(tmp_path / "missing.yaml"))
    with pytest.raises(ScenarioError, match="unknown timing 'pullSecs'"):
        parse_settings({"timings": {"pullSecs": 1}})


async def test_unknown_instance_type_without_sizes_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"nodeGroups": [{"name": "x", "instanceType": "z9.huge", "count": 1}]}))
    sim = KubeSim(str(path), speed=50)
    with pytest.raises(ScenarioError, match=r"unknown instance type z9\.huge"):
        await sim.start()
    await sim.stop()


async def test_resize_node_groups() -> None:
    sim = KubeSim("small", speed=50)
    await sim.start()
    try:
        before = [n["metadata"]["name"] for n in group_nodes(sim, "inference-g5")]
        assert len(before) == 2
        added = resize_node_group(sim, "inference-g5", 4)
        assert len(added) == 2
        assert not set(added) & set(before)
        nodes = group_nodes(sim, "inference-g5")
        assert len(nodes) == 4
        assert all(
            n["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "ml.g5.12xlarge" for n in nodes
        )
        assert len({n["status"]["addresses"][0]["address"] for n in sim.store.list(NODES)}) == 7  # unique IPs
        removed = resize_node_group(sim, "inference-g5", 1)
        assert len(removed) == 3
        assert [n["metadata"]["name"] for n in group_nodes(sim, "inference-g5")] == [before[0]]
        # A group the scenario did not have, from a scenario-style spec.
        new = resize_node_group(
            sim, "cpu-spot", 2, {"kind": "eks", "instanceType": "m5.xlarge", "capacityType": "SPOT"}
        )
        assert len(new) == 2
        labels = sim.store.get(NODES, None, new[0])["metadata"]["labels"]
        assert labels["eks.amazonaws.com/capacityType"] == "SPOT"
        with pytest.raises(ScenarioError, match="unknown node group 'nope'"):
            resize_node_group(sim, "nope", 1)
    finally:
        await sim.stop()


def test_resize_node_groups_over_the_admin_api(kubesim: RunningKubeSim) -> None:
    url = f"{kubesim.url}/_sim/nodegroups"
    before = httpx.get(url).json()["nodeGroups"]["inference-g5"]
    grown = httpx.post(f"{url}/inference-g5", json={"count": len(before) + 2})
    assert grown.status_code == 200
    body = grown.json()
    assert body["count"] == len(before) + 2
    assert len(body["added"]) == 2
    assert body["removed"] == []
    nodes = {n["metadata"]["name"] for n in httpx.get(f"{kubesim.url}/api/v1/nodes").json()["items"]}
    assert set(body["added"]) <= nodes

    shrunk = httpx.post(f"{url}/inference-g5", json={"count": len(before)}).json()
    assert sorted(shrunk["removed"]) == sorted(body["added"])  # newest first: the ones just added
    assert shrunk["nodes"] == before

    assert httpx.post(f"{url}/nope", json={"count": 1}).status_code == 404
    bad = httpx.post(f"{url}/inference-g5", json={"count": -1})
    assert bad.status_code == 400
    assert bad.json()["message"] == "count must be a non-negative integer"
