"""Shared names and helpers of the infrastructure tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.auth.service import create_user
from podium_shared.aws import sessions as aws_sessions
from podium_shared.clusters.service import register_cluster
from podium_shared.db.session import unit_of_work
from podium_shared.kube.clients import reset_cache
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.models.user import Role
from worker.fixtures import Pipeline

AWS_CLUSTER = "aws"
EKS_NAME = "podium-test"
HYPERPOD_NAME = "podium-test-hp"
REGION = "us-west-2"
EMULATOR_SPEED = 50.0
# Distinctive so the "credentials found nowhere" test can search for them.
ACCESS_KEY = "AKIAPODIUMTESTKEY0001"
SECRET_KEY = "podium-test-secret-NEVER-STORED-0123456789abcdef"
NODE_ROLE = "arn:aws:iam::123456789012:role/podium-node-role"
EXEC_ROLE = "arn:aws:iam::123456789012:role/podium-hyperpod-execution-role"

SEED: dict[str, Any] = {
    "region": REGION,
    "eks_clusters": [
        {
            "name": EKS_NAME,
            "nodegroups": [
                {"name": "system-cpu", "instance_types": ["m5.2xlarge"], "min": 1, "max": 4, "desired": 2,
                 "labels": {"workload": "system"}},
                {"name": "gpu-a10g", "instance_types": ["g5.12xlarge"], "min": 0, "max": 8, "desired": 2,
                 "ami_type": "AL2023_x86_64_NVIDIA",
                 "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]},
            ],
        }
    ],
    "hyperpod_clusters": [
        {
            "name": HYPERPOD_NAME,
            "instance_groups": [
                {"name": "inference-g5", "instance_type": "ml.g5.12xlarge", "count": 2},
                {"name": "training-p4d", "instance_type": "ml.p4d.24xlarge", "count": 1},
            ],
        }
    ],
}  # fmt: skip


def register_aws_cluster(
    pipeline: Pipeline, name: str, kubeconfig: Path, *, eks_name: str, hyperpod_name: str, region: str
) -> str:
    """Register kubesim (reached through its kubeconfig) under its EKS and HyperPod names."""
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(
            session, name, kubeconfig_path=str(kubeconfig), context="kubesim",
            eks_cluster_name=eks_name, region=region, hyperpod_cluster_name=hyperpod_name,
        )  # fmt: skip
    reset_cache()
    return name


class InfraApi:
    def __init__(self, client: TestClient, tokens: dict[Role, str]) -> None:
        self.client = client
        self.tokens = tokens

    @classmethod
    @contextmanager
    def open(cls, pipeline: Pipeline) -> Iterator[InfraApi]:
        settings = ApiSettings(
            **(pipeline.settings.model_dump() | {"rate_limit_per_second": 1000.0, "rate_limit_burst": 1000})
        )
        tokens = {}
        with unit_of_work(pipeline.sessions) as session:
            for role in (Role.viewer, Role.operator, Role.admin):
                _user, tokens[role] = create_user(session, f"{role.value}-{uuid.uuid4().hex[:8]}", role)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield cls(client, tokens)

    def headers(self, role: Role = Role.operator) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: Role = Role.viewer, **params: Any) -> httpx.Response:
        return self.client.get(f"/api/v1{path}", headers=self.headers(role), params=params)

    def command(self, kind: str, params: dict[str, Any], cluster: str = AWS_CLUSTER) -> httpx.Response:
        return self.client.post(
            "/api/v1/commands",
            headers=self.headers(Role.operator),
            json={"kind": kind, "cluster": cluster, "params": params},
        )


def run(
    pipeline: Pipeline, api: InfraApi, kind: str, params: dict[str, Any], timeout: float = 60
) -> Operation:
    r = api.command(kind, params)
    assert r.status_code == 202, r.text
    return pipeline.wait_finished(r.json()["id"], timeout=timeout)


def ok(op: Operation) -> dict[str, Any]:
    assert op.status == OperationStatus.succeeded, op.error
    assert op.result is not None
    return dict(op.result)


def boto(service: str, url: str) -> Any:
    """The test's own client straight to the emulator (set-up and checks)."""
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


@contextmanager
def emulated_aws_env(url: str, region: str, access_key: str, secret_key: str) -> Iterator[None]:
    """The standard AWS variables pointing at the emulator (and nothing of the machine's own AWS set-up),
    for the API in this process and the worker it starts; boto3 sessions made before are forgotten."""
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_ENDPOINT_URL", url)
        mp.setenv("AWS_ACCESS_KEY_ID", access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
        mp.setenv("AWS_DEFAULT_REGION", region)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        aws_sessions.reset_cache()
        yield
        aws_sessions.reset_cache()
