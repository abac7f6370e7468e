"""The read API over a snapshot written the way the watcher writes it (real Redis, real API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from podium_shared.cluster_state.status import ClusterStatus
from podium_shared.models.user import Role
from podium_shared.realtime.keys import leader_key
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter
from podium_shared.settings import PodiumSettings
from redis import Redis

from api.fixtures import ApiUser


def obj(
    kind: str, name: str, ns: str | None = None, labels: dict[str, str] | None = None, **rest: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "resourceVersion": "1", "uid": f"u-{name}", "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    return {"kind": kind, "metadata": meta, **rest}


def gpu_pod(
    name: str, ns: str, node: str, gpus: int, phase: str = "Running", **labels: str
) -> dict[str, Any]:
    return obj(
        "Pod",
        name,
        ns,
        labels,
        spec={
            "nodeName": node,
            "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}],
        },
        status={"phase": phase},
    )


@pytest.fixture
def snapshot(settings: PodiumSettings, cluster: str) -> str:
    redis = Redis.from_url(settings.redis_url)
    token = LeaderLock(redis, cluster, "test", ttl_seconds=60).try_acquire()
    assert token
    writer = StateWriter(redis, cluster, token)
    gpu = {"nvidia.com/gpu": "8"}
    ready = {"conditions": [{"type": "Ready", "status": "True"}], "capacity": gpu, "allocatable": gpu}
    node_labels = {
        "node.kubernetes.io/instance-type": "ml.p4d.24xlarge",
        "sagemaker.amazonaws.com/instance-group-name": "training",
    }
    pool_template = {"metadata": {"labels": {"deployment-type": "model-pool", "model": "qwen"}}}
    changes = [
        writer.replace("nodes", [obj("Node", "n1", labels=node_labels, status=ready)]),
        writer.replace(
            "pods",
            [
                gpu_pod("a-1", "team-a", "n1", 2, app="web", tier="front"),
                gpu_pod("a-2", "team-a", "n1", 1, "Pending", app="web", tier="back"),
                gpu_pod("a-3", "team-a", "n1", 4, "Succeeded", app="batch"),
                gpu_pod("b-1", "team-b", "n1", 1, app="web"),
            ],
        ),
        writer.replace(
            "services",
            [
                obj(
                    "Service",
                    "web",
                    "team-a",
                    spec={"type": "LoadBalancer", "ports": []},
                    status={"loadBalancer": {"ingress": [{"hostname": "web.elb.example"}]}},
                )
            ],
        ),
        writer.replace(
            "endpoints",
            [
                obj(
                    "Endpoints",
                    "web",
                    "team-a",
                    subsets=[
                        {
                            "addresses": [{"ip": "10.0.0.1", "targetRef": {"name": "a-1"}}],
                            "notReadyAddresses": [{"ip": "10.0.0.2"}],
                        }
                    ],
                )
            ],
        ),
        writer.replace(
            "deployments",
            [
                obj(
                    "Deployment",
                    "pool",
                    "team-a",
                    spec={"replicas": 3, "template": pool_template},
                    status={"readyReplicas": 2},
                ),
                obj("Deployment", "plain", "team-a", spec={"replicas": 1, "template": {}}, status={}),
            ],
        ),
        writer.replace("pytorchjobs", [obj("PyTorchJob", "train", "team-a")]),
        writer.replace("hyperpodpytorchjobs", [obj("HyperPodPyTorchJob", "hp", "team-b")]),
    ]
    for batch in changes:
        writer.write(batch)
    writer.touch()
    redis.close()
    return cluster


def test_status_from_the_snapshot(client: TestClient, viewer: ApiUser, snapshot: str) -> None:
    r = client.get(f"/api/v1/clusters/{snapshot}/status", headers=viewer.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    node = body["nodes"][0]
    assert (node["instance_type"], node["node_group"], node["node_group_kind"]) == (
        "ml.p4d.24xlarge",
        "training",
        "hyperpod",
    )
    assert (node["gpu_capacity"], node["gpu_requested"], node["gpu_free"], node["ready"]) == (8, 4, 4, True)
    assert body["totals"]["gpu_free"] == 4
    assert 0 <= body["snapshot_age_seconds"] < 10
    # The router sends the document without the model: it must be exactly what the model would send.
    assert ClusterStatus.model_validate(body).model_dump() == body


def test_status_from_the_aggregates_equals_the_status_from_every_pod(
    client: TestClient, viewer: ApiUser, snapshot: str, settings: PodiumSettings
) -> None:
    url = f"/api/v1/clusters/{snapshot}/status"
    from_every_pod = client.get(url, headers=viewer.headers).json()  # written without aggregates
    redis = Redis.from_url(settings.redis_url)
    token = redis.get(leader_key(snapshot))
    assert token is not None
    assert StateWriter(redis, snapshot, token.decode()).prepare_aggregates()
    from_aggregates = client.get(url, headers=viewer.headers).json()
    assert ClusterStatus.model_validate(from_aggregates).model_dump() == from_aggregates
    for body in (from_every_pod, from_aggregates):
        body.pop("snapshot_age_seconds")
    assert from_aggregates == from_every_pod


def test_cluster_list_shows_snapshot_age(client: TestClient, viewer: ApiUser, snapshot: str) -> None:
    r = client.get("/api/v1/clusters", headers=viewer.headers)
    assert r.status_code == 200
    row = next(c for c in r.json() if c["name"] == snapshot)
    assert row["watched"]
    assert row["snapshot_age_seconds"] < 10


def test_filters_and_pagination(client: TestClient, viewer: ApiUser, snapshot: str) -> None:
    base = f"/api/v1/clusters/{snapshot}/pods"
    names = lambda r: [i["name"] for i in r.json()["items"]]  # noqa: E731
    assert names(client.get(base, headers=viewer.headers)) == ["a-1", "a-2", "a-3", "b-1"]
    assert names(client.get(base, params={"namespace": "team-b"}, headers=viewer.headers)) == ["b-1"]
    r = client.get(base, params={"labelSelector": "app=web,tier notin (back)"}, headers=viewer.headers)
    assert names(r) == ["a-1", "b-1"]
    r = client.get(base, params={"fieldSelector": "status.phase=Running"}, headers=viewer.headers)
    assert names(r) == ["a-1", "b-1"]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = client.get(base, params=params, headers=viewer.headers).json()
        assert page["total"] == 4
        seen += [i["name"] for i in page["items"]]
        if not page["continue"]:
            break
        params["continue"] = page["continue"]
    assert seen == ["a-1", "a-2", "a-3", "b-1"]
    assert client.get(base, params={"labelSelector": "a in"}, headers=viewer.headers).status_code == 422


def test_services_deployments_and_training_jobs(client: TestClient, viewer: ApiUser, snapshot: str) -> None:
    svc = client.get(f"/api/v1/clusters/{snapshot}/services", headers=viewer.headers).json()["items"][0][
        "summary"
    ]
    assert svc["externalAddress"] == "web.elb.example"
    assert svc["readyEndpoints"] == [{"ip": "10.0.0.1", "pod": "a-1"}]
    assert svc["notReadyEndpoints"] == 1
    deps = client.get(f"/api/v1/clusters/{snapshot}/deployments", headers=viewer.headers).json()["items"]
    summary = {d["name"]: d["summary"] for d in deps}
    assert summary["pool"]["modelPool"]
    assert (summary["pool"]["desired"], summary["pool"]["ready"]) == (3, 2)
    assert not summary["plain"]["modelPool"]
    jobs = client.get(f"/api/v1/clusters/{snapshot}/trainingjobs", headers=viewer.headers).json()["items"]
    assert sorted((j["kind"], j["name"]) for j in jobs) == [
        ("HyperPodPyTorchJob", "hp"),
        ("PyTorchJob", "train"),
    ]


def test_namespace_scoped_users_see_only_their_namespaces(
    client: TestClient, make_user: Callable[..., ApiUser], snapshot: str
) -> None:
    scoped = make_user(Role.viewer, namespaces=["team-a"])
    pods = client.get(f"/api/v1/clusters/{snapshot}/pods", headers=scoped.headers).json()
    assert {p["namespace"] for p in pods["items"]} == {"team-a"}
    assert pods["total"] == 3
    r = client.get(
        f"/api/v1/clusters/{snapshot}/pods", params={"namespace": "team-b"}, headers=scoped.headers
    )
    assert r.status_code == 403
    assert client.get(f"/api/v1/clusters/{snapshot}/nodes", headers=scoped.headers).json()["items"] == []
    assert client.get(f"/api/v1/clusters/{snapshot}/status", headers=scoped.headers).status_code == 403
    jobs = client.get(f"/api/v1/clusters/{snapshot}/trainingjobs", headers=scoped.headers).json()["items"]
    assert [j["name"] for j in jobs] == ["train"]


def test_unknown_cluster_kind_and_anonymous(client: TestClient, viewer: ApiUser, snapshot: str) -> None:
    assert client.get("/api/v1/clusters/nope/pods", headers=viewer.headers).status_code == 404
    assert client.get(f"/api/v1/clusters/{snapshot}/secrets", headers=viewer.headers).status_code == 422
    assert client.get(f"/api/v1/clusters/{snapshot}/pods").status_code == 401


def test_metrics_endpoint(client: TestClient) -> None:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert "podium_ws_clients" in r.text
