"""The realtime path against the truth: kubesim churns while faults hit every link (watches closed,
history compacted → 410, Redis killed and restarted, the leading watcher killed). Afterwards the Redis
snapshot equals kubesim's state exactly, and a WebSocket client that stayed connected saw every change,
in order, and holds the same state."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
from api.fixtures import ApiUser
from kubernetes import client
from podium_kubesim.runner import RunningKubeSim
from podium_shared.embedded import EmbeddedRedis
from podium_shared.realtime.state import read_objects
from podium_shared.realtime.stream import compare_ids, stream_key
from redis import Redis
from support.waiting import wait_until

from watcher.realtime_fixtures import Watchers, WsClient

NS = "podium"
COMPARED = {
    "pods": "/api/v1/pods",
    "deployments": "/apis/apps/v1/deployments",
    "replicasets": "/apis/apps/v1/replicasets",
    "services": "/api/v1/services",
    "endpoints": "/api/v1/endpoints",
    "nodes": "/api/v1/nodes",
    "jobs": "/apis/batch/v1/jobs",
    "events": "/api/v1/events",
}
WS_TOPICS = ("pods", "deployments", "services", "nodes")


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def truth(kube: client.ApiClient, path: str) -> dict[str, str]:
    """kubesim's current objects of one kind, key -> resourceVersion, over HTTP with the official client."""
    resp = kube.call_api("GET", kube.configuration.host + path, header_params={"Accept": "application/json"})
    body = json.loads(resp.read())
    return {_key(o): o["metadata"]["resourceVersion"] for o in body["items"]}


def snapshot(redis: Redis[bytes], cluster: str, kind: str) -> dict[str, str]:
    return {_key(o): o["metadata"]["resourceVersion"] for o in read_objects(redis, cluster, kind)}


def deployment(name: str, replicas: int, tier: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": {**labels, "tier": tier}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, "tier": tier}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m"}}}
                    ]
                },
            },
        },
    }


def churn_step(
    rng: random.Random, apps: client.AppsV1Api, core: client.CoreV1Api, live: set[str], n: int
) -> None:
    action = rng.choice(["create", "create", "scale", "label", "delete", "service"] if live else ["create"])
    if action == "create" or not live:
        name = f"d{n}"
        apps.create_namespaced_deployment(NS, deployment(name, rng.randint(1, 2), rng.choice(["a", "b"])))
        live.add(name)
        return
    name = rng.choice(sorted(live))
    if action == "scale":
        apps.patch_namespaced_deployment(name, NS, {"spec": {"replicas": rng.randint(0, 3)}})
    elif action == "label":
        pods = core.list_namespaced_pod(NS, label_selector=f"app={name}").items
        if pods:
            pod = rng.choice(pods).metadata.name
            core.patch_namespaced_pod(pod, NS, {"metadata": {"labels": {"churn": str(n)}}})
    elif action == "delete":
        apps.delete_namespaced_deployment(name, NS, _preload_content=False)
        live.discard(name)
    else:
        svc = f"svc-{name}"
        try:
            core.delete_namespaced_service(svc, NS, _preload_content=False)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            core.create_namespaced_service(
                NS,
                {
                    "metadata": {"name": svc},
                    "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
                },
            )


def test_snapshot_and_websocket_converge_under_faults(  # noqa: PLR0917 - pytest fixtures
    kubesim: RunningKubeSim,
    kube: client.ApiClient,
    own_redis: EmbeddedRedis,
    watchers: Watchers,
    ws_client: Any,
    admin: ApiUser,
) -> None:
    with Redis.from_url(own_redis.url) as redis, httpx.Client(base_url=kubesim.url, timeout=10) as sim:
        _churn_with_faults_then_compare(kube, own_redis, watchers, ws_client, admin, redis, sim)


def _churn_with_faults_then_compare(  # noqa: PLR0917 - the fixtures, handed on
    kube: client.ApiClient,
    own_redis: EmbeddedRedis,
    watchers: Watchers,
    ws_client: Any,
    admin: ApiUser,
    redis: Redis[bytes],
    sim: httpx.Client,
) -> None:
    cluster = watchers.cluster
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)

    watchers.start("w1")
    watchers.start("w2")
    wait_until(lambda: watchers.leader() is not None, 10, "a leader")
    wait_until(
        lambda: snapshot(redis, cluster, "nodes") == truth(kube, COMPARED["nodes"]), 10, "the first sync"
    )

    ws: WsClient = ws_client(admin.token)
    for topic in WS_TOPICS:
        ws.subscribe(topic, cluster, topic)
    wait_until(
        lambda: len(ws.of_type("snapshot")) == len(WS_TOPICS),
        10,
        f"the initial snapshots {ws.messages[:5]} {ws.closed} {ws.error!r}",
    )

    rng = random.Random(20261123)
    live: set[str] = set()
    faults = {8: "close_watches", 16: "compact", 24: "restart_redis", 32: "kill_leader", 40: "compact"}
    for n in range(48):
        churn_step(rng, apps, core, live, n)
        fault = faults.get(n)
        if fault == "close_watches":
            sim.post("/_sim/watches/close").raise_for_status()
        elif fault == "compact":
            sim.post("/_sim/compact").raise_for_status()
        elif fault == "restart_redis":
            own_redis.stop(kill=True)
            churn_step(rng, apps, core, live, 1000 + n)  # the cluster moves on while Redis is down
            own_redis.start()
        elif fault == "kill_leader":
            # After the Redis restart a leader is back within its backoff; kill whoever leads then.
            wait_until(lambda: watchers.leader() is not None, 15, "a leader to kill")
            leader = watchers.leader()
            assert leader is not None
            leader.stop(release=False)  # a crash: the lock is left to expire, no goodbye
            watchers.start("w3")
            wait_until(lambda: watchers.leader() is not None, 10, "a standby to take over")
        # Freeze the cluster so "the truth" stops moving, then everything must converge on it.
    sim.post("/_sim/pause").raise_for_status()

    def redis_converged() -> bool:
        return all(snapshot(redis, cluster, kind) == truth(kube, path) for kind, path in COMPARED.items())

    wait_until(redis_converged, 30, "the Redis snapshot to equal kubesim", interval=0.3)
    truths = {t: truth(kube, COMPARED[t]) for t in WS_TOPICS}
    wait_until(
        lambda: all(ws.view(t) == truths[t] for t in WS_TOPICS), 15, "the WebSocket view to equal kubesim"
    )

    assert ws.closed is None, f"the client was disconnected: {ws.closed}"
    assert ws.order_violations == []
    # Every change: the window (and Redis's AOF across the restart) covered every gap, so no resync was
    # needed and each subscription received exactly the stream's events of its topic after its snapshot.
    assert ws.of_type("resync") == []
    entries = redis.xrange(stream_key(cluster))
    for topic in WS_TOPICS:
        start = ws.of_type("snapshot", topic)[0]["id"]
        expected = [
            i.decode()
            for i, f in entries
            if f[b"topic"].decode() == topic and compare_ids(i.decode(), start) > 0
        ]
        received = [m["id"] for m in ws.of_type("event", topic)]
        assert received == expected, f"{topic}: {len(received)} received, {len(expected)} in the stream"
    assert sum(w.terms for w in watchers.running) >= 3  # first leader, standby after the kill, Redis restart
