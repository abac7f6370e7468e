"""The console's serving reads over a snapshot written the way the watcher writes it: the models list
(type, engine, model, replicas ready/desired, endpoints) and the deploy command-line parse and fit check,
which queues nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from podium_shared.db.session import session_factory
from podium_shared.models.operation import Operation
from podium_shared.models.user import Role
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter
from podium_shared.settings import PodiumSettings
from redis import Redis
from sqlalchemy import func, select

from api.fixtures import ApiUser
from api.test_cluster_reads import gpu_pod, obj


@pytest.fixture
def serving_snapshot(settings: PodiumSettings, cluster: str) -> str:
    """One ready 8-GPU node with 2 GPUs in use; a vLLM pool behind a business Service; a plain app."""
    redis = Redis.from_url(settings.redis_url)
    token = LeaderLock(redis, cluster, "test", ttl_seconds=60).try_acquire()
    assert token
    writer = StateWriter(redis, cluster, token)
    gpu = {"nvidia.com/gpu": "8"}
    ready = {"conditions": [{"type": "Ready", "status": "True"}], "capacity": gpu, "allocatable": gpu}
    pool_labels = {"deployment-type": "model-pool", "model": "qwen3-0-6b", "podium.dev/engine": "vllm"}
    pool = obj("Deployment", "vllm-qwen", "team-a", pool_labels,
               spec={"replicas": 3, "template": {"metadata": {"labels": pool_labels}}},
               status={"readyReplicas": 2})  # fmt: skip
    pool["metadata"]["annotations"] = {"podium.dev/model-id": "Qwen/Qwen3-0.6B"}
    business = obj("Service", "qwen-prod", "team-a", {"service-type": "business-service", "business": "prod"},
                   spec={"type": "ClusterIP", "selector": {"model": "qwen3-0-6b", "business": "prod"},
                         "ports": [{"port": 8000}]})  # fmt: skip
    for batch in (
        writer.replace(
            "nodes", [obj("Node", "n1", labels={"node.kubernetes.io/instance-type": "p4d"}, status=ready)]
        ),
        writer.replace("pods", [gpu_pod("vllm-qwen-1", "team-a", "n1", 2)]),
        writer.replace("services", [business]),
        writer.replace("deployments", [pool, obj("Deployment", "plain", "team-b", spec={"replicas": 1})]),
    ):
        writer.write(batch)
    writer.touch()
    redis.close()
    return cluster


def test_models_list_shows_type_engine_model_replicas_and_endpoints(
    client: TestClient, viewer: ApiUser, serving_snapshot: str
) -> None:
    r = client.get(f"/api/v1/clusters/{serving_snapshot}/models", headers=viewer.headers)
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "name": "vllm-qwen",
            "namespace": "team-a",
            "type": "pool",
            "engine": "vllm",
            "model": "Qwen/Qwen3-0.6B",
            "model_tag": "qwen3-0-6b",
            "gpus_per_replica": None,
            "replicas": 3,
            "ready": 2,
            "managed_by_podium": False,
            "endpoints": [
                {
                    "service": "qwen-prod",
                    "business": "prod",
                    "type": "ClusterIP",
                    "scheme": None,
                    "address": None,
                    "port": 8000,
                }
            ],
        }
    ]


def test_models_list_respects_namespace_scope(
    client: TestClient, make_user: Callable[..., ApiUser], serving_snapshot: str
) -> None:
    scoped = make_user(Role.viewer, namespaces=["team-b"])
    assert client.get(f"/api/v1/clusters/{serving_snapshot}/models", headers=scoped.headers).json() == []
    denied = client.get(
        f"/api/v1/clusters/{serving_snapshot}/models?namespace=team-a", headers=scoped.headers
    )
    assert denied.status_code == 403


def _parse(client: TestClient, user: ApiUser, cluster: str, **body: object) -> dict[str, object]:
    r = client.post(f"/api/v1/clusters/{cluster}/deploy/parse", headers=user.headers, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_parse_shows_what_the_server_parsed_and_whether_it_fits_now(
    client: TestClient, operator: ApiUser, serving_snapshot: str, database_url: str
) -> None:
    with session_factory(database_url)() as s:
        before = s.scalar(select(func.count()).select_from(Operation))
    line = "vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size 2 --max-model-len 8192 --enable-prefix-caching"
    fits = _parse(client, operator, serving_snapshot, command_line=line, replicas=2, namespace="team-a")
    params = fits["params"]
    assert isinstance(params, dict)
    assert (params["engine"], params["model"], params["tensor_parallel"]) == ("vllm", "Qwen/Qwen3-0.6B", 2)
    assert (params["gpus_per_replica"], params["replicas"], params["max_model_len"]) == (2, 2, 8192)
    assert params["extra_args"] == ["--enable-prefix-caching"]
    assert params["namespace"] == "team-a"
    assert fits["fits"] is True
    assert fits["warnings"] == []
    assert fits["gpu"] == {"needed": 4, "free_now": 6}

    too_many = _parse(client, operator, serving_snapshot, command_line=line, replicas=4)
    assert too_many["fits"] is False
    assert too_many["gpu"] == {"needed": 8, "free_now": 6}
    assert "only 3 of 4 replicas fit" in str(too_many["warnings"])

    never = _parse(
        client, operator, serving_snapshot, command_line="vllm serve a/b --tensor-parallel-size 16"
    )
    assert never["fits"] is False
    assert "needs 16 GPUs" in str(never["warnings"])
    with session_factory(database_url)() as s:
        assert s.scalar(select(func.count()).select_from(Operation)) == before  # nothing queued


def test_parse_refuses_a_bad_line_with_the_parsers_message(
    client: TestClient, operator: ApiUser, serving_snapshot: str, cluster: str
) -> None:
    r = client.post(f"/api/v1/clusters/{serving_snapshot}/deploy/parse", headers=operator.headers,
                    json={"command_line": "vllm serve Qwen/Qwen3-0.6B ; rm -rf /"})  # fmt: skip
    assert r.status_code == 422
    assert "invalid command line" in r.json()["message"]
    assert ";" in r.json()["message"]
    missing = client.post("/api/v1/clusters/no-such/deploy/parse", headers=operator.headers,
                          json={"command_line": "vllm serve a/b"})  # fmt: skip
    assert missing.status_code == 404


def test_parse_without_a_snapshot_says_the_fit_is_unknown(
    client: TestClient, operator: ApiUser, cluster: str
) -> None:
    unknown = _parse(client, operator, cluster, command_line="ollama run llama3")
    assert unknown["fits"] is None
    assert "no snapshot" in str(unknown["warnings"])
    assert unknown["gpu"] == {"needed": 1, "free_now": None}
