"""HyperPod instance groups end to end: the overview joins ListClusterNodes to kubesim's nodes; scaling and
adding groups send UpdateCluster with every group's full spec and wait for InService."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from podium_awsemu.runner import RunningEmulator
from support.waiting import wait_until
from worker.fixtures import Pipeline

from infra.helpers import EXEC_ROLE, HYPERPOD_NAME, InfraApi, boto, ok, run

pytestmark = pytest.mark.usefixtures("worker", "watcher")


def _groups(emulator: RunningEmulator) -> dict[str, dict[str, Any]]:
    cluster = boto("sagemaker", emulator.url).describe_cluster(ClusterName=HYPERPOD_NAME)
    return {g["InstanceGroupName"]: g for g in cluster["InstanceGroups"]}


def test_overview_joins_instances_to_kubernetes_nodes(
    infra_api: InfraApi, emulator: RunningEmulator, kube: k8s.ApiClient
) -> None:
    sm = boto("sagemaker", emulator.url)
    instances = sm.list_cluster_nodes(ClusterName=HYPERPOD_NAME)["ClusterNodeSummaries"]
    joined = next(i for i in instances if i["InstanceGroupName"] == "training-p4d")
    gpus = {"nvidia.com/gpu": "8"}
    k8s.CoreV1Api(kube).create_node(
        {
            "metadata": {
                "name": f"hyperpod-{joined['InstanceId']}",
                "labels": {
                    "sagemaker.amazonaws.com/instance-group-name": "training-p4d",
                    "node.kubernetes.io/instance-type": "ml.p4d.24xlarge",
                },
            },
            "status": {
                "capacity": gpus,
                "allocatable": gpus,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )

    def overview() -> dict[str, Any] | None:
        r = infra_api.get("/clusters/aws/hyperpod")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        training = next(g for g in body["instance_groups"] if g["name"] == "training-p4d")
        return body if training["nodes"] and training["nodes"][0]["kube_node"] else None

    body = wait_until(overview, 30, "the watcher to stream the HyperPod node")
    assert body["status"] == "InService"
    groups = {g["name"]: g for g in body["instance_groups"]}
    assert set(groups) == {"inference-g5", "training-p4d"}
    inference = groups["inference-g5"]
    assert (inference["current_count"], inference["target_count"]) == (2, 2)
    assert inference["instance_type"] == "ml.g5.12xlarge"
    assert inference["execution_role"] == EXEC_ROLE
    assert inference["lifecycle_config"]["SourceS3Uri"].startswith("s3://sagemaker-")
    assert inference["threads_per_core"] == 1
    assert len(inference["nodes"]) == 2
    node = groups["training-p4d"]["nodes"][0]
    assert node["instance_id"] == joined["InstanceId"]
    assert node["kube_node"]["gpu_allocatable"] == 8


def test_scale_sends_every_group_and_waits_for_in_service(
    pipeline: Pipeline, infra_api: InfraApi, emulator: RunningEmulator
) -> None:
    before = _groups(emulator)
    result = ok(
        run(pipeline, infra_api, "scale_instance_group", {"group": "inference-g5", "target_count": 3})
    )
    assert result["already"] is False
    assert result["statuses"][0].startswith("Updating/Updating 2/3")
    assert result["statuses"][-1] == "InService/InService 3/3"
    after = _groups(emulator)
    assert (after["inference-g5"]["CurrentCount"], after["inference-g5"]["TargetCount"]) == (3, 3)
    # The other group is exactly as it was.
    assert after["training-p4d"] == before["training-p4d"]
    nodes = boto("sagemaker", emulator.url).list_cluster_nodes(ClusterName=HYPERPOD_NAME)[
        "ClusterNodeSummaries"
    ]
    assert sum(n["InstanceGroupName"] == "inference-g5" for n in nodes) == 3

    again = ok(run(pipeline, infra_api, "scale_instance_group", {"group": "inference-g5", "target_count": 3}))
    assert again["already"] is True
    down = ok(run(pipeline, infra_api, "scale_instance_group", {"group": "inference-g5", "target_count": 1}))
    assert down["current_count"] == 1


def test_add_instance_group(pipeline: Pipeline, infra_api: InfraApi, emulator: RunningEmulator) -> None:
    params = {
        "name": "batch-c5",
        "instance_type": "ml.c5.2xlarge",
        "count": 2,
        "execution_role": EXEC_ROLE,
        "lifecycle_config": {
            "source_s3_uri": "s3://sagemaker-podium-lifecycle/scripts/",
            "on_create": "on_create.sh",
        },
        "threads_per_core": 2,
    }
    result = ok(run(pipeline, infra_api, "add_instance_group", params))
    assert result["statuses"][0].startswith("Updating/Creating 0/2")
    assert result["statuses"][-1] == "InService/InService 2/2"
    added = _groups(emulator)["batch-c5"]
    assert added["ThreadsPerCore"] == 2
    assert added["LifeCycleConfig"] == {
        "SourceS3Uri": "s3://sagemaker-podium-lifecycle/scripts/",
        "OnCreate": "on_create.sh",
    }
    assert ok(run(pipeline, infra_api, "add_instance_group", params))["already"] is True


def _add(**over: Any) -> dict[str, Any]:
    base = {
        "name": "g",
        "instance_type": "ml.g5.xlarge",
        "count": 1,
        "execution_role": EXEC_ROLE,
        "lifecycle_config": {"source_s3_uri": "s3://b/x", "on_create": "a.sh"},
    }
    return base | over


@pytest.mark.parametrize(
    ("kind", "params", "rule"),
    [
        ("scale_instance_group", {"group": "inference-g5", "target_count": -1}, "greater than or equal to 0"),
        ("scale_instance_group", {"group": "bad_name!", "target_count": 1}, "pattern"),
        ("add_instance_group", _add(instance_type="g5.xlarge"), "pattern"),
        ("add_instance_group", _add(count=0), "greater than or equal to 1"),
        ("add_instance_group", _add(execution_role="admin"), "pattern"),
        (
            "add_instance_group",
            _add(lifecycle_config={"source_s3_uri": "https://b/x", "on_create": "a"}),
            "pattern",
        ),
        ("add_instance_group", _add(threads_per_core=4), "threads_per_core"),
    ],
)
def test_instance_group_validation_is_422(
    infra_api: InfraApi, kind: str, params: dict[str, Any], rule: str
) -> None:
    r = infra_api.command(kind, params)
    assert r.status_code == 422, r.text
    assert rule in r.text
