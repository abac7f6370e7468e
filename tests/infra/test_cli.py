"""`podium nodegroups|hyperpod|s3` as a script uses them: a real API on a real port, the worker, the
watcher, kubesim and emulated AWS; output and exit codes checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from kubernetes import client as k8s
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_awsemu.runner import RunningEmulator
from podium_cli.client import ExitCode
from podium_cli.main import app as podium_app
from podium_shared.models.user import Role
from support.served import serve
from support.waiting import wait_until
from typer.testing import CliRunner
from worker.fixtures import Pipeline

from infra.helpers import EKS_NAME, EXEC_ROLE, InfraApi, boto

pytestmark = pytest.mark.usefixtures("worker", "watcher")

Podium = Callable[..., Result]


@pytest.fixture(scope="module")
def api_url(pipeline: Pipeline, aws_env: RunningEmulator) -> Iterator[str]:
    settings = ApiSettings(
        **(pipeline.settings.model_dump() | {"rate_limit_per_second": 1000.0, "rate_limit_burst": 1000})
    )
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def podium(api_url: str, infra_api: InfraApi, tmp_path: Path) -> Podium:
    token = infra_api.tokens[Role.operator]

    def run(*args: str) -> Result:
        env = {"PODIUM_URL": api_url, "PODIUM_TOKEN": token, "PODIUM_CONFIG": str(tmp_path / "config.json")}
        return CliRunner().invoke(podium_app, ["-o", "json", *args], env=env)

    return run


def _json(result: Result) -> dict[str, object] | list[object]:
    assert result.exit_code == 0, result.output
    data: dict[str, object] | list[object] = json.loads(result.stdout)
    return data


def test_node_groups_from_the_cli(podium: Podium, emulator: RunningEmulator) -> None:
    listed = _json(podium("nodegroups", "list", "-c", "aws"))
    assert isinstance(listed, dict)
    assert {g["name"] for g in listed["nodegroups"]} >= {"system-cpu", "gpu-a10g"}  # type: ignore[index, union-attr]

    bad = podium("nodegroups", "scale", "gpu-a10g", "--min", "3", "--max", "2", "--desired", "2", "-c", "aws")
    assert bad.exit_code == ExitCode.usage
    assert "min must not exceed max" in bad.output

    done = _json(podium("nodegroups", "scale", "gpu-a10g", "--min", "0", "--max", "6", "--desired", "5",
                        "-c", "aws", "--wait", "--timeout", "60"))  # fmt: skip
    assert done["status"] == "succeeded"  # type: ignore[call-overload]
    eks = boto("eks", emulator.url)
    assert (
        eks.describe_nodegroup(clusterName=EKS_NAME, nodegroupName="gpu-a10g")["nodegroup"]["scalingConfig"][
            "desiredSize"
        ]
        == 5
    )

    created = podium(
        "nodegroups", "create", "cli-gpu", "--instance-type", "g6.xlarge", "--max", "2", "--label", "team=ml",
        "--taint", "gpu=true:NO_SCHEDULE", "-c", "aws", "--wait", "--timeout", "60",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    ng = eks.describe_nodegroup(clusterName=EKS_NAME, nodegroupName="cli-gpu")["nodegroup"]
    assert ng["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng["labels"] == {"team": "ml"}
    assert ng["taints"] == [{"key": "gpu", "value": "true", "effect": "NO_SCHEDULE"}]

    wrong = podium("nodegroups", "delete", "cli-gpu", "--confirm", "cli", "-c", "aws")
    assert wrong.exit_code == ExitCode.usage
    gone = podium(
        "nodegroups", "delete", "cli-gpu", "--confirm", "cli-gpu", "-c", "aws", "--wait", "--timeout", "60"
    )
    assert gone.exit_code == 0, gone.output
    assert "cli-gpu" not in eks.list_nodegroups(clusterName=EKS_NAME)["nodegroups"]


def test_hyperpod_from_the_cli(podium: Podium) -> None:
    groups = _json(podium("hyperpod", "groups", "-c", "aws"))
    assert isinstance(groups, dict)
    assert groups["status"] == "InService"
    assert (
        _json(podium("hyperpod", "scale", "inference-g5", "4", "-c", "aws", "--wait", "--timeout", "60"))[
            "status"  # type: ignore[call-overload]
        ]
        == "succeeded"
    )
    added = podium("hyperpod", "add", "cli-c5", "--instance-type", "ml.c5.xlarge", "--count", "1",
                   "--execution-role", EXEC_ROLE, "--source-s3-uri", "s3://sagemaker-podium/lifecycle/",
                   "-c", "aws", "--wait", "--timeout", "60")  # fmt: skip
    assert added.exit_code == 0, added.output
    after = _json(podium("hyperpod", "groups", "-c", "aws"))
    counts = {g["name"]: g["current_count"] for g in after["instance_groups"]}  # type: ignore[call-overload, index]
    assert counts["inference-g5"] == 4
    assert counts["cli-c5"] == 1


def test_s3_from_the_cli(podium: Podium, emulator: RunningEmulator, kube: k8s.ApiClient) -> None:
    s3 = boto("s3", emulator.url)
    s3.create_bucket(Bucket="cli-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for key in ("data/a.txt", "data/sub/b.txt", "c.txt"):
        s3.put_object(Bucket="cli-bucket", Key=key, Body=key.encode())
    k8s.CoreV1Api(kube).create_persistent_volume(
        {
            "metadata": {"name": "cli-s3"},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteMany"],
                "csi": {
                    "driver": "s3.csi.aws.com",
                    "volumeHandle": "cli",
                    "volumeAttributes": {"bucketName": "cli-bucket"},
                },
            },
        }
    )
    wait_until(lambda: podium("s3", "ls", "-c", "aws").exit_code == 0, 30, "the watcher to stream the PV")
    top = _json(podium("s3", "ls", "-c", "aws"))
    assert top["folders"] == ["data/"]  # type: ignore[call-overload]
    assert [o["key"] for o in top["objects"]] == ["c.txt"]  # type: ignore[call-overload, index]
    below = _json(podium("s3", "ls", "data/", "-c", "aws", "--all", "--limit", "1"))
    assert below["folders"] == ["data/sub/"]  # type: ignore[call-overload]
    assert [o["key"] for o in below["objects"]] == ["data/a.txt"]  # type: ignore[call-overload, index]
    url = _json(podium("s3", "url", "data/sub/b.txt", "-c", "aws"))["url"]  # type: ignore[call-overload]
    assert httpx.get(str(url), timeout=10).content == b"data/sub/b.txt"
