"""EKS node groups end to end: the API reads the emulated account over HTTP and joins kubesim's nodes
(streamed by the real watcher); the kinds run in a real worker and wait out the emulator's transitions."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from podium_awsemu.runner import RunningEmulator
from podium_shared.models.operation import OperationStatus
from podium_shared.models.user import Role
from support.waiting import wait_until
from worker.fixtures import Pipeline

from infra.helpers import EKS_NAME, InfraApi, boto, ok, run

pytestmark = pytest.mark.usefixtures("worker", "watcher")


def _gpu_node(core: k8s.CoreV1Api, name: str, group: str, gpus: int) -> None:
    resources = {"nvidia.com/gpu": str(gpus), "cpu": "48", "memory": "192Gi"}
    core.create_node(
        {
            "metadata": {
                "name": name,
                "labels": {
                    "eks.amazonaws.com/nodegroup": group,
                    "node.kubernetes.io/instance-type": "g5.12xlarge",
                },
            },
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )


def _group(api: InfraApi, name: str) -> dict[str, Any] | None:
    r = api.get("/clusters/aws/nodegroups")
    assert r.status_code == 200, r.text
    return next((g for g in r.json()["nodegroups"] if g["name"] == name), None)


def test_list_shows_every_field_and_the_groups_kubernetes_nodes(
    infra_api: InfraApi, kube: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(kube)
    _gpu_node(core, "ip-10-1-0-1.us-west-2.compute.internal", "gpu-a10g", 4)
    _gpu_node(core, "ip-10-1-0-2.us-west-2.compute.internal", "gpu-a10g", 4)

    def joined() -> dict[str, Any] | None:
        g = _group(infra_api, "gpu-a10g")
        return g if g and len(g["nodes"]) == 2 else None

    gpu = wait_until(joined, 30, "the watcher to stream the GPU nodes")
    assert gpu["status"] == "ACTIVE"
    assert gpu["instance_types"] == ["g5.12xlarge"]
    assert (gpu["min"], gpu["max"], gpu["desired"]) == (0, 8, 2)
    assert gpu["capacity_type"] == "ON_DEMAND"
    assert gpu["ami_type"] == "AL2023_x86_64_NVIDIA"
    assert gpu["release_version"]
    assert gpu["node_role"].endswith(":role/podium-node-role")
    assert gpu["subnets"]
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert gpu["health_issues"] == []
    assert gpu["gpus"] == 8
    assert {n["gpu_allocatable"] for n in gpu["nodes"]} == {4}
    cpu = _group(infra_api, "system-cpu")
    assert cpu is not None
    assert cpu["labels"] == {"workload": "system"}

    # Viewers may read it; a namespace-scoped user may not (node groups are cluster-wide).
    assert infra_api.get("/clusters/aws/nodegroups", role=Role.viewer).status_code == 200


def test_scale_waits_for_the_update_and_is_idempotent(
    pipeline: Pipeline, infra_api: InfraApi, emulator: RunningEmulator
) -> None:
    op = run(
        pipeline, infra_api, "scale_nodegroup", {"nodegroup": "system-cpu", "min": 1, "max": 5, "desired": 3}
    )
    result = ok(op)
    assert result["already"] is False
    assert result["statuses"][0] == "UPDATING"
    assert result["statuses"][-1] == "ACTIVE"
    assert result["scaling"] == {"min": 1, "max": 5, "desired": 3}
    assert op.progress["status"] == "ACTIVE"
    ng = boto("eks", emulator.url).describe_nodegroup(clusterName=EKS_NAME, nodegroupName="system-cpu")
    assert ng["nodegroup"]["scalingConfig"] == {"minSize": 1, "maxSize": 5, "desiredSize": 3}
    # The other group kept its own sizes (moto's shared default dict is not shared here).
    other = boto("eks", emulator.url).describe_nodegroup(clusterName=EKS_NAME, nodegroupName="gpu-a10g")
    assert other["nodegroup"]["scalingConfig"]["desiredSize"] == 2

    again = ok(
        run(
            pipeline,
            infra_api,
            "scale_nodegroup",
            {"nodegroup": "system-cpu", "min": 1, "max": 5, "desired": 3},
        )
    )
    assert again["already"] is True


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"min": 3, "max": 2, "desired": 2}, "min must not exceed max"),
        ({"min": 0, "max": 2, "desired": 3}, "desired must lie between min and max"),
        ({"min": 2, "max": 4, "desired": 1}, "desired must lie between min and max"),
        ({"min": 0, "max": 0, "desired": 0}, "max must be at least 1"),
        ({"min": -1, "max": 2, "desired": 1}, "greater than or equal to 0"),
    ],
)
def test_scale_rules_are_422_naming_the_rule(infra_api: InfraApi, params: dict[str, int], rule: str) -> None:
    r = infra_api.command("scale_nodegroup", {"nodegroup": "system-cpu", **params})
    assert r.status_code == 422, r.text
    assert rule in r.text


@pytest.mark.parametrize(
    ("kind", "params", "rule"),
    [
        ("delete_nodegroup", {"nodegroup": "gpu-a10g", "confirm": "gpu-a10"}, "confirm must equal"),
        ("create_nodegroup", {"name": "x", "instance_types": ["big"]}, "family.size"),
        ("create_nodegroup", {"name": "x", "instance_types": []}, "at least 1"),
        ("create_nodegroup", {"name": "x", "instance_types": ["g5.xlarge"], "node_role": "role"}, "pattern"),
        ("create_nodegroup", {"name": "x", "instance_types": ["g5.xlarge"], "subnets": ["net-1"]}, "subnet"),
        ("create_nodegroup", {"name": "x", "instance_types": ["g5.xlarge"],
                              "scaling": {"min": 2, "max": 1, "desired": 1}}, "min must not exceed max"),
        ("create_nodegroup", {"name": "x", "instance_types": ["g5.xlarge"], "capacity_type": "CHEAP"},
         "ON_DEMAND"),
        ("create_nodegroup", {"name": "x", "instance_types": ["g5.xlarge"],
                              "taints": [{"key": "k", "effect": "NoSchedule"}]}, "NO_SCHEDULE"),
    ],
)  # fmt: skip
def test_create_and_delete_validation_is_422(
    infra_api: InfraApi, kind: str, params: dict[str, Any], rule: str
) -> None:
    r = infra_api.command(kind, params)
    assert r.status_code == 422, r.text
    assert rule in r.text


def test_create_defaults_a_gpu_ami_the_cluster_subnets_and_a_node_role_then_delete(
    pipeline: Pipeline, infra_api: InfraApi, emulator: RunningEmulator
) -> None:
    created = ok(
        run(
            pipeline,
            infra_api,
            "create_nodegroup",
            {
                "name": "gpu-h100",
                "instance_types": ["p5.48xlarge"],
                "scaling": {"min": 0, "max": 2, "desired": 1},
                "labels": {"gpu": "h100"},
                "taints": [{"key": "gpu", "value": "h100", "effect": "NO_SCHEDULE"}],
            },
        )
    )
    assert created["statuses"] == ["CREATING", "ACTIVE"]
    eks = boto("eks", emulator.url)
    ng = eks.describe_nodegroup(clusterName=EKS_NAME, nodegroupName="gpu-h100")["nodegroup"]
    assert ng["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng["subnets"] == eks.describe_cluster(name=EKS_NAME)["cluster"]["resourcesVpcConfig"]["subnetIds"]
    assert ng["nodeRole"].endswith(":role/podium-node-role")
    assert ng["labels"] == {"gpu": "h100"}
    # Creating it again converges on the existing group.
    assert ok(
        run(pipeline, infra_api, "create_nodegroup", {"name": "gpu-h100", "instance_types": ["p5.48xlarge"]})
    )["already"]

    deleted = ok(
        run(pipeline, infra_api, "delete_nodegroup", {"nodegroup": "gpu-h100", "confirm": "gpu-h100"})
    )
    assert deleted["statuses"][0] == "DELETING"
    assert deleted["statuses"][-1] == "GONE"
    assert "gpu-h100" not in eks.list_nodegroups(clusterName=EKS_NAME)["nodegroups"]
    again = ok(run(pipeline, infra_api, "delete_nodegroup", {"nodegroup": "gpu-h100", "confirm": "gpu-h100"}))
    assert again["already"] is True


def test_a_failed_creation_reports_its_health_issues(
    pipeline: Pipeline, infra_api: InfraApi, emulator: RunningEmulator
) -> None:
    emulator.set_unavailable(["p4de.24xlarge"])
    try:
        op = run(
            pipeline,
            infra_api,
            "create_nodegroup",
            {"name": "no-capacity", "instance_types": ["p4de.24xlarge"]},
        )
    finally:
        emulator.set_unavailable([])
    assert op.status == OperationStatus.failed
    assert op.error is not None
    assert "CREATE_FAILED" in op.error["message"]
    assert "InsufficientInstanceCapacity" in op.error["message"]
    assert op.attempts == 1


def test_scaling_a_missing_group_fails_at_once(pipeline: Pipeline, infra_api: InfraApi) -> None:
    op = run(pipeline, infra_api, "scale_nodegroup", {"nodegroup": "nope", "min": 0, "max": 1, "desired": 1})
    assert op.status == OperationStatus.failed
    assert op.error is not None
    assert 'node group "nope" does not exist' in op.error["message"]
    assert op.attempts == 1
