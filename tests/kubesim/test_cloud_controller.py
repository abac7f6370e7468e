"""The cloud controller: kubesim's nodes follow EKS node groups and HyperPod instance groups read from the
AWS emulator over HTTP (moto in server mode + podium_awsemu's transitions and UpdateCluster), through the
same boto3 calls a real cloud controller makes.

Scaling happens in the emulator, through boto3 like any client; kubesim is only read over its API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import yaml
from kubernetes import client, config
from podium_awsemu.runner import RunningEmulator
from podium_kubesim.controllers.cloud_source import CloudConfig
from podium_kubesim.runner import RunningKubeSim, free_port, start_kubesim
from support.waiting import wait_until

from kubesim.helpers import deployment

SPEED = 20.0
JOIN_SECONDS = 20.0  # simulated: one real second at SPEED
REGION = "us-west-2"
EKS_GROUP = "eks.amazonaws.com/nodegroup"
HP_GROUP = "sagemaker.amazonaws.com/instance-group-name"
ROLE = "arn:aws:iam::123456789012:role/podium-nodes"


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator(speed=SPEED) as running:
        yield running


@pytest.fixture(scope="module")
def aws_endpoint(emulator: RunningEmulator) -> str:
    return emulator.url


def aws(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def eks_cluster(endpoint: str, groups: dict[str, tuple[str, int]], **nodegroup_options: Any) -> str:
    """An EKS cluster (a fresh name: the emulator is shared by the module) with `groups`."""
    eks = aws(endpoint, "eks")
    name = f"c-{uuid.uuid4().hex[:8]}"
    eks.create_cluster(
        name=name, roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-a", "subnet-b"]}, version="1.31"
    )
    for group, (instance_type, size) in groups.items():
        eks.create_nodegroup(
            clusterName=name,
            nodegroupName=group,
            scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": size},
            subnets=["subnet-a", "subnet-b"],
            instanceTypes=[instance_type],
            nodeRole=ROLE,
            **nodegroup_options.get(group, {}),
        )
    # CREATING -> ACTIVE now: a scaling update is refused while a group is still being created.
    httpx.post(endpoint + "/_emu/settle", timeout=30).raise_for_status()
    return name


def scenario(tmp_path: Path, groups: list[dict[str, Any]]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({"name": "cloud", "region": REGION, "nodeGroups": groups}))
    return path


def running(path: Path, endpoint: str, **clusters: str) -> RunningKubeSim:
    cloud = CloudConfig(
        endpoint_url=endpoint, region=REGION, poll_seconds=0.2, join_seconds=JOIN_SECONDS, **clusters
    )
    return start_kubesim(path, speed=SPEED, cloud=cloud)


@pytest.fixture
def core_of(tmp_path: Path) -> Iterator[Any]:
    clients: list[client.ApiClient] = []

    def make(ks: RunningKubeSim) -> client.CoreV1Api:
        api = config.new_client_from_config(config_file=str(ks.write_kubeconfig(tmp_path / "kubeconfig")))
        clients.append(api)
        return client.CoreV1Api(api)

    yield make
    for api in clients:
        api.close()


def group_nodes(core: client.CoreV1Api, label: str, group: str) -> list[client.V1Node]:
    return list(core.list_node(label_selector=f"{label}={group}").items)


def names(nodes: list[client.V1Node]) -> set[str]:
    return {n.metadata.name for n in nodes}


def test_nodes_follow_a_node_group_scaled_up_after_a_join_delay(
    aws_endpoint: str, tmp_path: Path, core_of: Any
) -> None:
    cluster = eks_cluster(
        aws_endpoint,
        {"cpu": ("m5.large", 2), "gpu": ("g5.12xlarge", 1)},
        gpu={"labels": {"team": "ml"}, "taints": [{"key": "gpu", "value": "yes", "effect": "NO_SCHEDULE"}]},
    )
    # The scenario already has the `cpu` group (adopted as is) and a `legacy` group the cloud lacks.
    path = scenario(
        tmp_path,
        [
            {"name": "cpu", "kind": "eks", "instanceType": "m5.large", "count": 2},
            {"name": "legacy", "kind": "eks", "instanceType": "m5.large", "count": 1},
        ],
    )
    with running(path, aws_endpoint, eks_cluster=cluster) as ks:
        core = core_of(ks)
        # The groups found at start-up are taken as running: no join delay, the scenario's cpu nodes kept.
        cpu = group_nodes(core, EKS_GROUP, "cpu")
        assert len(cpu) == 2
        assert all(n.metadata.name.startswith("ip-10-0-0-") for n in cpu)
        assert len(group_nodes(core, EKS_GROUP, "gpu")) == 1
        assert group_nodes(core, EKS_GROUP, "legacy") == []

        before = names(group_nodes(core, EKS_GROUP, "gpu"))
        aws(aws_endpoint, "eks").update_nodegroup_config(
            clusterName=cluster,
            nodegroupName="gpu",
            scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": 2},
        )
        started = time.monotonic()
        grown = wait_until(
            lambda: ns if len(ns := group_nodes(core, EKS_GROUP, "gpu")) == 2 else None,
            timeout=30,
            what="the gpu group's second node",
        )
        # An instance boots and registers: the node cannot appear before the join delay.
        assert time.monotonic() - started >= JOIN_SECONDS / SPEED * 0.9
        (new,) = [n for n in grown if n.metadata.name not in before]
        labels = new.metadata.labels
        assert labels[EKS_GROUP] == "gpu"
        assert labels["node.kubernetes.io/instance-type"] == "g5.12xlarge"
        assert labels["team"] == "ml"
        assert labels["nvidia.com/gpu.product"] == "NVIDIA-A10G"
        assert new.status.capacity["nvidia.com/gpu"] == "4"
        assert new.status.allocatable["nvidia.com/gpu"] == "4"
        assert [(t.key, t.value, t.effect) for t in new.spec.taints] == [("gpu", "yes", "NoSchedule")]
        assert new.spec.provider_id.startswith(f"aws:///{REGION}")
        assert {n.metadata.labels["topology.kubernetes.io/zone"] for n in grown} == {
            f"{REGION}a",
            f"{REGION}b",
        }
        events = core.list_namespaced_event(
            "default", field_selector=f"involvedObject.name={new.metadata.name}"
        )
        assert "RegisteredNode" in {e.reason for e in events.items}


def test_scale_down_cordons_evicts_and_removes_the_newest_node(
    aws_endpoint: str, tmp_path: Path, core_of: Any
) -> None:
    cluster = eks_cluster(aws_endpoint, {"web": ("m5.large", 2)})
    path = scenario(tmp_path, [{"name": "web", "kind": "eks", "instanceType": "m5.large", "count": 2}])
    with running(path, aws_endpoint, eks_cluster=cluster) as ks:
        core = core_of(ks)
        apps = client.AppsV1Api(core.api_client)
        core.create_namespace({"metadata": {"name": "drain"}})
        body = deployment("web", replicas=4)
        body["spec"]["template"]["spec"]["nodeSelector"] = {EKS_GROUP: "web"}
        # Two per node: the scheduler spreads by least allocation, so each node gets some.
        body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "200m"}}
        apps.create_namespaced_deployment("drain", body)
        wait_until(
            lambda: (apps.read_namespaced_deployment("web", "drain").status.ready_replicas or 0) == 4,
            what="4 ready replicas",
        )
        pods_by_node: dict[str, set[str]] = {}
        for p in core.list_namespaced_pod("drain").items:
            pods_by_node.setdefault(p.spec.node_name, set()).add(p.metadata.name)
        assert len(pods_by_node) == 2, "the scheduler should have used both nodes"
        rv = core.list_node().metadata.resource_version

        aws(aws_endpoint, "eks").update_nodegroup_config(
            clusterName=cluster,
            nodegroupName="web",
            scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": 1},
        )
        (kept,) = wait_until(
            lambda: ns if len(ns := names(group_nodes(core, EKS_GROUP, "web"))) == 1 else None,
            what="one node left in the group",
        )
        (removed,) = set(pods_by_node) - {kept}
        # Scale-in takes the newest node: the scenario created the lower address first.
        assert removed == max(pods_by_node, key=lambda n: [int(x) for x in n.split(".")[0].split("-")[1:]])
        # The node's history, from a watch started before the scale-down: cordoned, then deleted.
        seen: list[tuple[str, bool]] = []
        from kubernetes import watch  # noqa: PLC0415

        w = watch.Watch()
        for ev in w.stream(core.list_node, resource_version=rv, timeout_seconds=5):
            if ev["object"].metadata.name == removed:
                seen.append((ev["type"], bool(ev["object"].spec.unschedulable)))
                if ev["type"] == "DELETED":
                    w.stop()
        assert seen[0] == ("MODIFIED", True)
        assert seen[-1][0] == "DELETED"
        # The evicted pods went; the Deployment's replacements run on the remaining node.
        wait_until(
            lambda: (
                (apps.read_namespaced_deployment("web", "drain").status.ready_replicas or 0) == 4
                and {p.spec.node_name for p in core.list_namespaced_pod("drain").items} == {kept}
            ),
            what="4 ready replicas on the remaining node",
        )
        assert not pods_by_node[removed] & {p.metadata.name for p in core.list_namespaced_pod("drain").items}
        evicted = core.list_namespaced_event("drain", field_selector="reason=Evicted").items
        assert {e.involved_object.name for e in evicted} == pods_by_node[removed]


def test_a_deleted_node_group_loses_its_nodes(aws_endpoint: str, tmp_path: Path, core_of: Any) -> None:
    # `c6i.large` is a type kubesim has no figures for: its node still joins, as a modest CPU machine.
    cluster = eks_cluster(aws_endpoint, {"keep": ("c6i.large", 1), "drop": ("g5.xlarge", 2)})
    with running(scenario(tmp_path, []), aws_endpoint, eks_cluster=cluster) as ks:
        core = core_of(ks)
        kept = names(group_nodes(core, EKS_GROUP, "keep"))
        assert len(kept) == 1
        (odd,) = group_nodes(core, EKS_GROUP, "keep")
        assert odd.status.capacity["cpu"] == "4"
        assert "nvidia.com/gpu" not in odd.status.capacity
        assert len(group_nodes(core, EKS_GROUP, "drop")) == 2
        aws(aws_endpoint, "eks").delete_nodegroup(clusterName=cluster, nodegroupName="drop")
        wait_until(lambda: group_nodes(core, EKS_GROUP, "drop") == [], what="the deleted group's nodes gone")
        assert names(group_nodes(core, EKS_GROUP, "keep")) == kept


def hyperpod_group(name: str, count: int) -> dict[str, Any]:
    return {
        "InstanceGroupName": name,
        "InstanceType": "ml.p4d.24xlarge",
        "InstanceCount": count,
        "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/", "OnCreate": "on_create.sh"},
        "ExecutionRole": ROLE,
        "ThreadsPerCore": 1,
    }


def test_hyperpod_nodes_are_the_clusters_instances(aws_endpoint: str, tmp_path: Path, core_of: Any) -> None:
    sagemaker = aws(aws_endpoint, "sagemaker")
    hp = f"hp-{uuid.uuid4().hex[:8]}"
    sagemaker.create_cluster(ClusterName=hp, InstanceGroups=[hyperpod_group("train", 2)])
    httpx.post(aws_endpoint + "/_emu/settle", timeout=30).raise_for_status()

    def instances() -> set[str]:
        listed = sagemaker.list_cluster_nodes(ClusterName=hp)["ClusterNodeSummaries"]
        return {f"hyperpod-{n['InstanceId']}" for n in listed if n["InstanceStatus"]["Status"] == "Running"}

    first = instances()
    assert len(first) == 2
    # The scenario's HyperPod group has invented instances; the cloud's real ones replace them.
    path = scenario(
        tmp_path, [{"name": "train", "kind": "hyperpod", "instanceType": "ml.p4d.24xlarge", "count": 2}]
    )
    with running(path, aws_endpoint, hyperpod_cluster=hp) as ks:
        core = core_of(ks)
        nodes = group_nodes(core, HP_GROUP, "train")
        assert names(nodes) == first
        for n in nodes:
            assert f"hyperpod-{n.spec.provider_id.rsplit('/', 1)[-1]}" in first
            assert n.status.capacity["nvidia.com/gpu"] == "8"
            assert n.metadata.labels["node.kubernetes.io/instance-type"] == "ml.p4d.24xlarge"
            assert n.metadata.labels["sagemaker.amazonaws.com/cluster-name"] == hp

        # UpdateCluster 2 -> 3: once the emulator has launched the instance, its node joins.
        sagemaker.update_cluster(ClusterName=hp, InstanceGroups=[hyperpod_group("train", 3)])
        grown = wait_until(lambda: ids if len(ids := instances()) == 3 else None, what="a third instance")
        wait_until(lambda: names(group_nodes(core, HP_GROUP, "train")) == grown, what="its node joined")
        # 3 -> 1: the nodes of the terminated instances are drained and removed.
        sagemaker.update_cluster(ClusterName=hp, InstanceGroups=[hyperpod_group("train", 1)])
        left = wait_until(lambda: ids if len(ids := instances()) == 1 else None, what="one instance left")
        wait_until(lambda: names(group_nodes(core, HP_GROUP, "train")) == left, what="two nodes removed")

        sagemaker.delete_cluster(ClusterName=hp)
        wait_until(
            lambda: group_nodes(core, HP_GROUP, "train") == [], what="the deleted cluster's nodes gone"
        )


def test_an_unreachable_cloud_leaves_the_scenario_alone(tmp_path: Path, core_of: Any) -> None:
    path = scenario(tmp_path, [{"name": "cpu", "kind": "eks", "instanceType": "m5.large", "count": 2}])
    dead = f"http://127.0.0.1:{free_port()}"
    with running(path, dead, eks_cluster="nowhere") as ks:
        core = core_of(ks)
        assert len(group_nodes(core, EKS_GROUP, "cpu")) == 2
        state = ks.call(ks.sim.state)
        assert state["cloud"]["reads"] == 0
        assert "Could not connect" in state["cloud"]["lastError"]
        assert "kubesim-cloud-controller" in state["controllers"]


def test_config_from_flags_and_environment() -> None:
    assert not CloudConfig.from_env({}).enabled
    env = {
        "KUBESIM_EKS_CLUSTER": "local",
        "KUBESIM_AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "KUBESIM_NODE_JOIN_SECONDS": "5",
    }
    config = CloudConfig.from_env(env, hyperpod_cluster="hp", endpoint_url=None, region="eu-west-1")
    assert config.enabled
    assert (config.eks_cluster, config.hyperpod_cluster) == ("local", "hp")
    assert config.endpoint_url == "http://127.0.0.1:5000"  # a flag left out does not clear the variable
    assert (config.region, config.join_seconds, config.poll_seconds) == ("eu-west-1", 5.0, 2.0)
