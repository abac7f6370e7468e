"""The cluster status read from the watcher's per-node GPU aggregates (one Redis round trip) agrees with
the status computed from every pod, through adds, moves, phase changes, relists and deletes, and after a
rebuild of a snapshot an older watcher wrote."""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

import pytest
from podium_shared.cluster_state.status import ClusterStatus, cluster_status, read_cluster_status
from podium_shared.embedded import EmbeddedRedis
from podium_shared.realtime.keys import gpu_key, meta_key, summary_key
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter, read_objects
from redis import Redis

_n = itertools.count()
PHASES = ("Pending", "Running", "Succeeded", "Failed", None)


@pytest.fixture
def redis(redis_server: EmbeddedRedis) -> Redis[bytes]:
    return Redis.from_url(redis_server.url)


@pytest.fixture
def cluster() -> str:
    return f"agg-{os.getpid()}-{next(_n)}"


def node(name: str, gpus: int, *, ready: bool = True) -> dict[str, Any]:
    res = {"cpu": "8", "nvidia.com/gpu": str(gpus)}
    return {
        "metadata": {"name": name, "labels": {"eks.amazonaws.com/nodegroup": "ng"}},
        "status": {
            "capacity": res,
            "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def container(requests: int | None = None, limits: int | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests is not None:
        res["requests"] = {"nvidia.com/gpu": str(requests)}
    if limits is not None:
        res["limits"] = {"nvidia.com/gpu": str(limits)}
    return {"name": "c", "resources": res}


def writer_for(redis: Redis[bytes], cluster: str, holder: str = "w1") -> StateWriter:
    token = LeaderLock(redis, cluster, holder, ttl_seconds=30).try_acquire()
    assert token is not None
    return StateWriter(redis, cluster, token)


def versioned(obj: dict[str, Any], rv: int) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}


def random_pod(rng: random.Random, name: str, nodes: list[str]) -> dict[str, Any]:
    containers = [container(requests=rng.choice([None, 0, 1, 2])) for _ in range(rng.randint(1, 2))]
    init = [container(limits=rng.choice([1, 4]))] if rng.random() < 0.2 else None
    spec: dict[str, Any] = {"containers": containers}
    if init:
        spec["initContainers"] = init
    target = rng.choice([*nodes, None])
    if target:
        spec["nodeName"] = target
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "spec": spec,
        "status": {"phase": rng.choice(PHASES)},
    }


def from_every_pod(redis: Redis[bytes], cluster: str) -> ClusterStatus:
    return cluster_status(
        cluster, read_objects(redis, cluster, "nodes"), read_objects(redis, cluster, "pods"), None
    )


def comparable(status: ClusterStatus) -> dict[str, Any]:
    return status.model_dump(exclude={"snapshot_age_seconds"})


def test_aggregates_follow_every_change(redis: Redis[bytes], cluster: str) -> None:
    rng = random.Random(13)
    writer = writer_for(redis, cluster)
    assert writer.prepare_aggregates()  # a new snapshot: built (empty) before the first change
    node_names = [f"n{i}" for i in range(6)]
    rv = itertools.count(1)
    nodes = {n: node(n, rng.choice([0, 4, 8])) for n in node_names}
    writer.write([c for n in nodes.values() if (c := writer.plan("nodes", "ADDED", versioned(n, next(rv))))])
    live: dict[str, dict[str, Any]] = {}
    for _ in range(300):
        action = rng.random()
        if action < 0.45 or not live:
            name = f"p{rng.randint(0, 40)}"
            live[name] = random_pod(rng, name, node_names)
            change = writer.plan("pods", "MODIFIED", versioned(live[name], next(rv)))
        elif action < 0.6:
            name = rng.choice(sorted(live))
            change = writer.plan("pods", "DELETED", versioned(live.pop(name), next(rv)))
        elif action < 0.7:
            # A node's allocatable changes, or it is cordoned.
            name = rng.choice(node_names)
            nodes[name] = node(name, rng.choice([0, 2, 8]), ready=rng.random() < 0.8)
            change = writer.plan("nodes", "MODIFIED", versioned(nodes[name], next(rv)))
        else:
            name = rng.choice(sorted(live))
            live[name] = {**live[name], "status": {"phase": rng.choice(PHASES)}}
            change = writer.plan("pods", "MODIFIED", versioned(live[name], next(rv)))
        if change is not None:
            writer.write([change])
        # Every step: a read served from the remembered document must never lag a change.
        assert comparable(read_cluster_status(redis, cluster)) == comparable(from_every_pod(redis, cluster))
    # A relist that lost half the pods: synthesised DELETEDs go through the same script.
    kept = dict(sorted(live.items())[: len(live) // 2])
    writer.write(writer.replace("pods", [versioned(p, next(rv)) for p in kept.values()]))
    fast = read_cluster_status(redis, cluster)
    assert comparable(fast) == comparable(from_every_pod(redis, cluster))
    assert fast.totals.gpu_requested + fast.totals.gpu_pending_unscheduled > 0  # the test exercised GPUs


def test_a_snapshot_from_an_older_watcher_is_read_the_slow_way_then_rebuilt(
    redis: Redis[bytes], cluster: str
) -> None:
    rng = random.Random(7)
    writer = writer_for(redis, cluster)
    names = ["a", "b", "c"]
    changes = [writer.plan("nodes", "ADDED", versioned(node(n, 8), i)) for i, n in enumerate(names, 1)]
    changes += [
        writer.plan("pods", "ADDED", versioned(random_pod(rng, f"p{i}", names), 10 + i)) for i in range(30)
    ]
    writer.write([c for c in changes if c is not None])
    expected = comparable(from_every_pod(redis, cluster))
    # What an older watcher left: no aggregates, no node summaries, no version.
    redis.delete(gpu_key(cluster), summary_key(cluster, "nodes"))
    redis.hdel(meta_key(cluster), "aggregates")
    assert comparable(read_cluster_status(redis, cluster)) == expected  # fallback: every pod's summary

    # The upgraded watcher's first term (the old one let go).
    LeaderLock(redis, cluster, "w1", ttl_seconds=30).release(writer.token)
    newer = writer_for(redis, cluster, "w2")
    assert newer.prepare_aggregates()
    assert not newer.prepare_aggregates()  # built once; changes keep it current from then on
    assert redis.hget(meta_key(cluster), "aggregates") is not None
    assert comparable(read_cluster_status(redis, cluster)) == expected


def test_the_status_version_moves_with_what_the_status_shows_and_nothing_else(
    redis: Redis[bytes], cluster: str
) -> None:
    """Readers answer from the document they built while `status_version` stands still; the watcher's
    script moves it whenever a node or pod summary changes, and only then."""
    writer = writer_for(redis, cluster)
    writer.prepare_aggregates()
    writer.write([c for c in [writer.plan("nodes", "ADDED", versioned(node("n1", 8), 1))] if c])
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "labels": {"team": "a"}},
        "spec": {"nodeName": "n1", "containers": [container(requests=2)]},
        "status": {"phase": "Running"},
    }
    writer.write([c for c in [writer.plan("pods", "ADDED", versioned(pod, 2))] if c])

    def version() -> bytes | None:
        return redis.hget(meta_key(cluster), "status_version")

    before = version()
    assert before is not None
    assert read_cluster_status(redis, cluster).totals.gpu_requested == 2
    relabelled = {**pod, "metadata": {**pod["metadata"], "labels": {"team": "b"}}}
    writer.write([c for c in [writer.plan("pods", "MODIFIED", versioned(relabelled, 3))] if c])
    assert version() == before  # a label is not part of the status
    grown = {**relabelled, "spec": {"nodeName": "n1", "containers": [container(requests=4)]}}
    writer.write([c for c in [writer.plan("pods", "MODIFIED", versioned(grown, 4))] if c])
    assert version() != before
    assert read_cluster_status(redis, cluster).totals.gpu_requested == 4  # not the remembered document
    writer.write(
        [c for c in [writer.plan("nodes", "MODIFIED", versioned(node("n1", 8, ready=False), 5))] if c]
    )
    assert read_cluster_status(redis, cluster).totals.ready_nodes == 0
