"""Log collectors in-process against kubesim, next to the realtime fixtures' watchers and API."""

from __future__ import annotations

import ast
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api.fixtures import unique
from kubernetes import client
from podium_shared.db.session import session_factory
from podium_shared.embedded import EmbeddedRedis
from podium_shared.models.telemetry import LogLine
from podium_shared.realtime.kubeclient import api_client_from_kubeconfig
from podium_shared.telemetry import store
from podium_shared.telemetry.collector import CollectorTuning, LogCollector, publish_lines
from podium_shared.telemetry.follow import FollowTuning
from podium_shared.telemetry.parsing import split_timestamp
from podium_shared.telemetry.store import Line, StreamBatch, StreamKey, Workload
from redis import Redis
from sqlalchemy import select

FAST = CollectorTuning(
    ttl_seconds=2.0,
    campaign_interval=0.2,
    follow=FollowTuning(backoff_base=0.05, backoff_max=0.5, read_timeout=10.0),
)


@dataclass
class Collectors:
    cluster: str
    kubeconfig: Path
    redis_url: str
    database_url: str
    running: list[LogCollector] = field(default_factory=list)

    def start(self, holder: str, tuning: CollectorTuning = FAST) -> LogCollector:
        c = LogCollector(
            self.cluster,
            lambda: api_client_from_kubeconfig(self.kubeconfig, "kubesim", 64),
            Redis.from_url(self.redis_url, socket_timeout=5),
            session_factory(self.database_url),
            holder,
            tuning,
        )
        c.start()
        self.running.append(c)
        return c

    def leader(self) -> LogCollector | None:
        return next((c for c in self.running if c.is_leader.is_set() and not c.stop_event.is_set()), None)

    def stop_all(self) -> None:
        for c in self.running:
            c.stop()
        for c in self.running:
            c.join(timeout=15)


@pytest.fixture
def collectors(
    watched_cluster: str, kubeconfig: Path, own_redis: EmbeddedRedis, database_url: str
) -> Iterator[Collectors]:
    cs = Collectors(watched_cluster, kubeconfig, own_redis.url, database_url)
    yield cs
    cs.stop_all()


@pytest.fixture
def namespace(kube: client.ApiClient) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(kube).create_namespace({"metadata": {"name": name}})
    return name


def pytorchjob(name: str, *, steps: int, step_seconds: float, workers: int = 1) -> dict[str, Any]:
    template = {
        "metadata": {
            "annotations": {
                "kubesim.podium.dev/train-steps": str(steps),
                "kubesim.podium.dev/step-seconds": str(step_seconds),
            }
        },
        "spec": {"containers": [{"name": "pytorch", "image": "llamafactory:latest"}]},
    }
    specs: dict[str, Any] = {"Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template}}
    if workers:
        specs["Worker"] = {"replicas": workers, "restartPolicy": "OnFailure", "template": template}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {"pytorchReplicaSpecs": specs},
    }


def printed(kube: client.ApiClient, namespace: str, pod: str, container: str) -> list[tuple[datetime, str]]:
    """What kubesim's container printed, with the API server's timestamps (as kubectl logs would see)."""
    raw = client.CoreV1Api(kube).read_namespaced_pod_log(pod, namespace, container=container, timestamps=True)
    out = []
    for line in raw.split("\n")[:-1]:
        parsed = split_timestamp(line)
        assert parsed is not None
        out.append(parsed)
    return out


def stored(database_url: str, pod: str, container: str, namespace: str) -> list[LogLine]:
    with session_factory(database_url)() as s:
        rows = s.execute(
            select(LogLine)
            .where(LogLine.namespace == namespace, LogLine.pod == pod, LogLine.container == container)
            .order_by(LogLine.seq)
        ).scalars()
        return list(rows)


_BAR = re.compile(r"(\d+)/(\d+) \[")


def expected_points(lines: list[tuple[datetime, str]]) -> list[tuple[str, float, int, int]]:
    """(name, value, timestamp ms, iteration) of every metric dict printed, independently of the parser:
    a step's dict is followed by that step's bar; the summary follows the last bar."""
    out = []
    for i, (ts, text) in enumerate(lines):
        if not text.startswith("{"):
            continue
        record = ast.literal_eval(text)
        if "train_runtime" in record:
            step = next(int(m.group(1)) for _, t in reversed(lines[:i]) if (m := _BAR.search(t)))
        else:
            step = next(int(m.group(1)) for _, t in lines[i + 1 :] if (m := _BAR.search(t)))
        out += [(k, float(v), int(ts.timestamp() * 1000), step) for k, v in record.items()]
    return out


WRITER_T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Writer:
    """Stores and announces lines of one job's pod the way the collector does."""

    def __init__(self, database_url: str, redis_url: str, cluster: str, namespace: str, job: str) -> None:
        self.sessions = session_factory(database_url)
        self.redis = Redis.from_url(redis_url)
        self.cluster = cluster
        self.workload = Workload(unique("uid"), cluster, namespace, job, "PyTorchJob")
        self.seq = 0
        with self.sessions.begin() as s:
            self.fence = store.claim(s, cluster, "test")

    def write(self, pod: str, n: int, publish: bool = True) -> list[dict[str, object]]:
        lines = []
        for _ in range(n):
            self.seq += 1
            lines.append(Line(self.seq, WRITER_T0 + timedelta(seconds=self.seq), f"{pod} {self.seq}", 1))
        key = StreamKey(f"{self.workload.uid}-{pod}", "main")
        with self.sessions.begin() as s:
            stored = store.write_batches(
                s, self.cluster, self.fence, [StreamBatch(key, self.workload, pod, lines)]
            )
        if publish:
            publish_lines(self.redis, self.cluster, stored)
        return stored
