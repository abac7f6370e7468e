"""The watcher's MLflow poller: new and changed runs of a real MLflow server reach WebSocket subscribers
of `training_runs`, and two pollers of the same server elect one leader (one event per change)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mlflow import MlflowClient
from podium_shared.embedded import EmbeddedMlflow, EmbeddedRedis
from podium_shared.history.client import Tracking
from podium_shared.history.watch import RunsWatch
from podium_shared.realtime import stream
from redis import Redis
from support.waiting import wait_until
from watcher.realtime_fixtures import WsClient, own_redis, served_api, ws_client

from history.helpers import experiment, make_run

__all__ = ["own_redis", "served_api", "ws_client"]  # fixtures used by name below

# The first test of a worker that needs the MLflow server pays its start-up (minutes on a loaded machine).
pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def pollers(
    own_redis: EmbeddedRedis, mlflow_server: EmbeddedMlflow, cluster: str
) -> Iterator[Callable[[str], RunsWatch]]:
    started: list[RunsWatch] = []
    redis = Redis.from_url(own_redis.url)

    def start(holder: str) -> RunsWatch:
        w = RunsWatch(Tracking(mlflow_server.url, 5.0), lambda: [cluster], redis, holder, interval=0.2)
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
    for w in started:
        w.join(timeout=10)
    redis.close()


def _events(ws: WsClient, run_id: str) -> list[dict[str, Any]]:
    return [m for m in ws.of_type("event", "runs") if m["object"]["id"] == run_id]


def test_new_and_changed_runs_reach_a_subscriber(
    pollers: Callable[[str], RunsWatch],
    ws_client: Callable[[str], WsClient],
    mlflow: MlflowClient,
    cluster: str,
    viewer,
) -> None:
    watch = pollers("w1")
    wait_until(lambda: watch.rounds > 0, 60, "the poller's first round")
    ws = ws_client(viewer.token)
    ws.subscribe("runs", cluster, "training_runs")
    snapshot = wait_until(lambda: ws.of_type("snapshot", "runs"), 10, "the (empty) snapshot")
    assert snapshot[0]["objects"] == []

    eid, name = experiment(mlflow, "live")
    run_id = make_run(mlflow, eid, name="live-run", tags={"model": "qwen"}, status=None)
    added = wait_until(lambda: _events(ws, run_id), 30, "the new run")[0]
    assert added["event"] == "ADDED"
    assert added["topic"] == "training_runs"
    assert added["object"]["experiment"] == name
    assert added["object"]["status"] == "RUNNING"
    assert added["object"]["tags"] == {"model": "qwen"}

    mlflow.log_metric(run_id, "loss", 1.25, step=3)
    wait_until(
        lambda: any(e["object"]["metrics"].get("loss") == 1.25 for e in _events(ws, run_id)), 30, "loss"
    )
    mlflow.set_terminated(run_id, "FINISHED")
    wait_until(lambda: any(e["object"]["status"] == "FINISHED" for e in _events(ws, run_id)), 30, "the end")
    assert {e["event"] for e in _events(ws, run_id)[1:]} == {"MODIFIED"}


def test_two_pollers_of_one_server_publish_each_change_once(
    pollers: Callable[[str], RunsWatch], own_redis: EmbeddedRedis, mlflow: MlflowClient, cluster: str
) -> None:
    first, second = pollers("w1"), pollers("w2")
    wait_until(lambda: first.rounds > 0 or second.rounds > 0, 60, "a leader's first round")
    leader = first if first.rounds > 0 else second
    eid, _ = experiment(mlflow, "once")
    run_id = make_run(mlflow, eid, name="once")
    redis = Redis.from_url(own_redis.url)

    def added() -> list[str]:
        events = stream.read_after(redis, cluster, "0-0", 100_000)[1]
        return [e.id for e in events if e.topic == "training_runs" and e.object["id"] == run_id]

    wait_until(added, 30, "the run's event")
    before = leader.published
    wait_until(
        lambda: leader.since_ms > 0 and leader.published == before and leader.is_alive(), 5, "a quiet round"
    )
    assert len(added()) == 1
    assert (first.rounds > 0) != (second.rounds > 0)  # the standby never polled
    redis.close()
