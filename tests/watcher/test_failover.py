"""Leader failover between two real watcher processes (`python -m podium_watcher`): kill -9 the
leader, and the standby takes over within seconds and keeps the snapshot current."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from podium_shared.embedded import EmbeddedRedis, free_port
from podium_shared.realtime.keys import heartbeat_key, leader_key
from podium_shared.realtime.state import read_objects
from redis import Redis
from support.waiting import wait_until

from watcher.test_convergence import COMPARED, deployment, snapshot, truth

TTL = 2.0


@pytest.fixture
def spawn(database_url: str, own_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def spawn_(watcher_id: str, metrics_port: int = 0) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PODIUM_ENVIRONMENT": "test",
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_REDIS_URL": own_redis.url,
            "PODIUM_WATCHER_ID": watcher_id,
            "PODIUM_WATCHER_METRICS_PORT": str(metrics_port),
            "PODIUM_WATCHER_LEADER_TTL_SECONDS": str(TTL),
            "PODIUM_WATCHER_CAMPAIGN_INTERVAL_SECONDS": "0.2",
            "PODIUM_WATCHER_CLUSTER_REFRESH_SECONDS": "1",
            "PODIUM_WATCHER_HEARTBEAT_SECONDS": "0.5",
            "PODIUM_WATCH_TIMEOUT_MIN_SECONDS": "2",
            "PODIUM_WATCH_TIMEOUT_MAX_SECONDS": "4",
            "PODIUM_WATCH_INACTIVITY_TIMEOUT_SECONDS": "3",
        }
        log = open(tmp_path / f"{watcher_id}.log", "wb")  # noqa: SIM115 - the child writes to it until killed
        proc = subprocess.Popen(
            [sys.executable, "-m", "podium_watcher"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        procs.append(proc)
        return proc

    yield spawn_
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_standby_takes_over_when_the_leader_dies(
    spawn: object, own_redis: EmbeddedRedis, watched_cluster: str, kube: client.ApiClient
) -> None:
    cluster = watched_cluster
    ports = {"wa": free_port(), "wb": free_port()}
    procs = {name: spawn(name, ports[name]) for name in ports}  # type: ignore[operator]
    with Redis.from_url(own_redis.url) as redis:
        # Generous: two fresh interpreters import the Kubernetes client (seconds on a loaded machine).
        wait_until(lambda: redis.get(leader_key(cluster)) is not None, 90, "a leader")
        wait_until(
            lambda: snapshot(redis, cluster, "nodes") == truth(kube, COMPARED["nodes"]), 20, "the first sync"
        )
        for name in ports:
            wait_until(lambda n=name: redis.get(heartbeat_key(n)) is not None, 60, f"{name}'s heartbeat")
        first = redis.get(leader_key(cluster)).decode()  # type: ignore[union-attr]
        leader, standby = ("wa", "wb") if first.endswith(":wa") else ("wb", "wa")

        procs[leader].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(
            lambda: (redis.get(leader_key(cluster)) or b"").decode().endswith(f":{standby}"), 10, "a takeover"
        )
        takeover = time.monotonic() - killed_at
        assert takeover < TTL + 5, f"the standby took {takeover:.1f}s"
        second = redis.get(leader_key(cluster)).decode()  # type: ignore[union-attr]
        assert int(second.split(":")[0]) > int(first.split(":")[0])  # a greater fencing token

        client.AppsV1Api(kube).create_namespaced_deployment("podium", deployment("after-failover", 1, "a"))
        wait_until(
            lambda: any(
                d["metadata"]["name"] == "after-failover" for d in read_objects(redis, cluster, "deployments")
            ),
            10,
            "the new leader to stream changes",
        )
        metrics = httpx.get(f"http://127.0.0.1:{ports[standby]}/metrics", timeout=5).text
        assert f'podium_watcher_leader{{cluster="{cluster}"}} 1.0' in metrics

        procs[standby].send_signal(signal.SIGTERM)
        assert procs[standby].wait(15) == 0
        assert redis.get(leader_key(cluster)) is None  # released on a clean shutdown: no TTL wait
        assert redis.get(heartbeat_key(standby)) is None
