"""`podium train logs [-f]` and `podium metrics available|data [--csv]` against the real API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from api.fixtures import ApiUser
from podium_cli.main import app as podium_app
from podium_shared.embedded import EmbeddedRedis
from podium_shared.telemetry import store
from podium_shared.telemetry.store import Point
from typer.testing import CliRunner, Result
from watcher.realtime_fixtures import ServedApi

from telemetry.collector_fixtures import Writer

Podium = Callable[..., Result]


@pytest.fixture
def podium(served_api: ServedApi, viewer: ApiUser, tmp_path: Path) -> Podium:
    env = {"PODIUM_URL": served_api.url, "PODIUM_TOKEN": viewer.token,
           "PODIUM_CONFIG": str(tmp_path / "podium-config.json")}  # fmt: skip

    def run(*args: str) -> Result:
        return CliRunner().invoke(podium_app, list(args), env=env)

    return run


def test_logs_print_tail_and_follow(
    podium: Podium, own_redis: EmbeddedRedis, database_url: str, watched_cluster: str
) -> None:
    writer = Writer(database_url, own_redis.url, watched_cluster, "team-a", "sft")
    writer.write("m", 3)
    base = ("train", "logs", "sft", "-c", watched_cluster, "-n", "team-a")
    r = podium(*base)
    assert r.exit_code == 0, r.output
    assert r.output == "[m/main] m 1\n[m/main] m 2\n[m/main] m 3\n"
    r = podium(*base, "--pod", "m", "--container", "main", "--tail", "1")
    assert r.output == "m 3\n"
    timer = threading.Timer(0.5, lambda: writer.write("m", 2))
    timer.start()
    r = podium(*base, "--pod", "m", "--container", "main", "-f", "--interval", "0.2", "--max-seconds", "3")
    timer.join()
    assert r.output == "m 1\nm 2\nm 3\nm 4\nm 5\n"
    assert podium("train", "logs", "nope", "-c", watched_cluster, "-n", "team-a").exit_code == 3


def test_metrics_available_and_data(
    podium: Podium, own_redis: EmbeddedRedis, database_url: str, watched_cluster: str
) -> None:
    writer = Writer(database_url, own_redis.url, watched_cluster, "team-a", "sft")
    writer.write("m", 1)
    uid = writer.workload.uid
    with writer.sessions.begin() as s:
        store.insert_points(s, uid, [Point("loss", 2.0 - i / 10, 1000 * i, i, "m") for i in range(1, 4)])
    r = podium("metrics", "available", uid, "-o", "json")
    assert json.loads(r.output)["metrics"] == [{"name": "loss", "data_source": ["log"], "count": 3}]
    r = podium("metrics", "data", uid, "--metrics", "loss", "--csv")
    assert r.output.splitlines() == [
        "metric_name,value,timestamp,iteration,data_source",
        "loss,1.9,1000,1,log", "loss,1.8,2000,2,log", "loss,1.7,3000,3,log",
    ]  # fmt: skip
    r = podium("metrics", "data", uid, "--source", "carrier-pigeon")
    assert r.exit_code == 2
    assert "data_source" in r.output
