"""The local run's emulated AWS account and kubesim describe the same cluster: the account seeded from the
default scenario holds exactly the scenario's groups (so kubesim's cloud controller finds nothing to
change at start), and once pointed at kubesim the EKS cluster `local` leads, by name, to kubesim over
HTTPS — through the production by-EKS-name connection (DescribeCluster endpoint + CA, STS token)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from kubernetes import client
from podium_awsemu.local_account import (
    LOCAL_EKS_CLUSTER,
    default_seed,
    hyperpod_cluster,
    point_at_kubesim,
    scenario_seed,
)
from podium_awsemu.runner import RunningEmulator
from podium_kubesim.controllers.cloud_source import CloudConfig
from podium_kubesim.resources import resource
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_kubesim.scenario import read_scenario
from podium_shared.kube.clients import eks_configuration
from podium_shared.settings import PodiumSettings

REGION = "us-west-2"


def test_the_emulators_default_account_is_the_default_scenario() -> None:
    # `podium awsemu --seed default` and `podium up` (which seeds from the scenario) start the same account.
    assert scenario_seed(None) == default_seed()


def test_another_scenario_gives_its_own_groups() -> None:
    doc = scenario_seed("large")
    (eks,) = doc["eks_clusters"]
    assert eks["name"] == LOCAL_EKS_CLUSTER
    assert [(g["name"], g["desired"]) for g in eks["nodegroups"]] == [("system-cpu", 200)]
    groups = {g["name"]: g["count"] for g in doc["hyperpod_clusters"][0]["instance_groups"]}
    assert groups == {"inference-g5": 500, "training-p4d": 200, "training-p5": 100}


@pytest.fixture(scope="module")
def local_run() -> Iterator[tuple[RunningEmulator, RunningKubeSim]]:
    """The emulator seeded from the default scenario, kubesim (HTTPS) following it, as `podium up` runs."""
    seed = scenario_seed(None)
    with RunningEmulator(speed=20, seed=seed) as emulator:
        cloud = CloudConfig(
            eks_cluster=LOCAL_EKS_CLUSTER,
            hyperpod_cluster=hyperpod_cluster(seed),
            endpoint_url=emulator.url,
            region=REGION,
            poll_seconds=0.2,
        )
        with start_kubesim(None, speed=20, tls=True, cloud=cloud) as kubesim:
            assert kubesim.ca_pem is not None
            point_at_kubesim(emulator.url, region=REGION, endpoint=kubesim.url, ca_pem=kubesim.ca_pem)
            yield emulator, kubesim


def aws(emulator: RunningEmulator, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=emulator.url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def test_seeded_account_equals_the_default_scenario(
    local_run: tuple[RunningEmulator, RunningKubeSim],
) -> None:
    emulator, kubesim = local_run
    scenario = {g["name"]: g for g in read_scenario(None)["nodeGroups"]}
    eks = aws(emulator, "eks")
    in_cloud: dict[str, tuple[str, str, int]] = {}
    for name in eks.list_nodegroups(clusterName=LOCAL_EKS_CLUSTER)["nodegroups"]:
        ng = eks.describe_nodegroup(clusterName=LOCAL_EKS_CLUSTER, nodegroupName=name)["nodegroup"]
        in_cloud[name] = ("eks", ng["instanceTypes"][0], ng["scalingConfig"]["desiredSize"])
    sagemaker = aws(emulator, "sagemaker")
    for g in sagemaker.describe_cluster(ClusterName="podium-hyperpod")["InstanceGroups"]:
        in_cloud[g["InstanceGroupName"]] = ("hyperpod", g["InstanceType"], g["CurrentCount"])
    assert in_cloud == {n: (g["kind"], g["instanceType"], g["count"]) for n, g in scenario.items()}

    # kubesim's nodes are those groups: the scenario's EKS nodes kept, HyperPod nodes named after the
    # emulator's instances.
    state = kubesim.call(kubesim.sim.state)
    assert state["cloud"]["lastError"] is None
    assert state["cloud"]["joining"] == {}
    nodes = kubesim.call(lambda: kubesim.sim.store.list_raw(resource("nodes")))
    by_group: dict[str, list[str]] = {}
    for node in nodes:
        labels = node["metadata"]["labels"]
        group = (
            labels.get("eks.amazonaws.com/nodegroup") or labels["sagemaker.amazonaws.com/instance-group-name"]
        )
        by_group.setdefault(group, []).append(node["metadata"]["name"])
    assert {g: len(ns) for g, ns in by_group.items()} == {n: c for n, (_, _, c) in in_cloud.items()}
    instances = {
        f"hyperpod-{n['InstanceId']}"
        for n in sagemaker.list_cluster_nodes(ClusterName="podium-hyperpod")["ClusterNodeSummaries"]
    }
    assert set(by_group["inference-g5"]) | set(by_group["training-p4d"]) == instances


def test_the_eks_cluster_by_name_reaches_kubesim_over_https(
    local_run: tuple[RunningEmulator, RunningKubeSim], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, kubesim = local_run
    described = aws(emulator, "eks").describe_cluster(name=LOCAL_EKS_CLUSTER)["cluster"]
    assert described["endpoint"] == kubesim.url
    assert kubesim.ca_pem is not None
    assert base64.b64decode(described["certificateAuthority"]["data"]) == kubesim.ca_pem
    # What Podium's API, worker and watcher do for a cluster registered by EKS name and region.
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulated")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulated")
    settings = PodiumSettings(environment="test", kubeconfig=None)
    configuration = eks_configuration(LOCAL_EKS_CLUSTER, REGION, None, settings)
    assert configuration.host == kubesim.url
    assert configuration.verify_ssl
    with client.ApiClient(configuration) as api:
        names = {n.metadata.name for n in client.CoreV1Api(api).list_node().items}
    assert any(n.startswith("hyperpod-i-") for n in names)
