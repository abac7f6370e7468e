"""The telemetry API on real Postgres: Lens's shapes, Podium's extensions, every bad parameter a 400
naming it, idempotent ingest, and who may read what. Lines and points are stored through the store, as
the collector stores them (the collector itself is exercised against kubesim in test_collector.py)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from api.fixtures import ApiUser, unique
from fastapi.testclient import TestClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.db.session import session_factory
from podium_shared.embedded import free_port
from podium_shared.models.user import Role
from podium_shared.telemetry import store
from podium_shared.telemetry.store import Line, Point, StreamBatch, StreamKey, Workload

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MS0 = int(T0.timestamp() * 1000)


def _seed(database_url: str, namespace: str = "team-a") -> tuple[Workload, str]:
    """A job with two pods' lines and a few metrics from two sources; returns it and its cluster."""
    cluster = unique("c")
    w = Workload(unique("uid"), cluster, namespace, unique("job"), "PyTorchJob")
    sessions = session_factory(database_url)
    batches = []
    for pod in ("master-0", "worker-0"):
        key = StreamKey(f"{w.uid}-{pod}", "pytorch")
        lines = [Line(i, T0 + timedelta(seconds=i), f"{pod} line {i}", 1) for i in range(1, 6)]
        points = (
            [Point("loss", 3.0 - i / 10, MS0 + i * 1000, i, pod) for i in range(1, 6)]
            + [Point("learning_rate", 1e-4, MS0 + i * 1000, i, pod) for i in range(1, 6)]
            if pod == "master-0"
            else []
        )
        batches.append(StreamBatch(key, w, pod, lines, points))
    with sessions.begin() as s:
        fence = store.claim(s, cluster, "test")
        store.write_batches(s, cluster, fence, batches)
        store.insert_points(s, w.uid, [Point("loss", 9.0, MS0 + 1000, 1, "", "wandb")])
    return w, cluster


def test_lens_shapes_and_values(client: TestClient, viewer: ApiUser, database_url: str) -> None:
    w, _ = _seed(database_url)
    r = client.get(f"/api/v1/workloads/{w.uid}/metrics/available", headers=viewer.headers)
    assert r.status_code == 200
    assert r.json() == {
        "workload_uid": w.uid,
        "metrics": [
            {"name": "learning_rate", "data_source": ["log"], "count": 5},
            {"name": "loss", "data_source": ["log", "wandb"], "count": 6},
        ],
        "total_count": 2,
    }
    r = client.get(
        f"/api/v1/workloads/{w.uid}/metrics/data",
        params={"data_source": "log", "metrics": "loss", "start": MS0 + 2000, "end": MS0 + 4000},
        headers=viewer.headers,
    )
    assert r.json() == {
        "workload_uid": w.uid,
        "data_source": "log",
        "data": [
            {"metric_name": "loss", "value": 3.0 - i / 10, "timestamp": MS0 + i * 1000, "iteration": i,
             "data_source": "log"}
            for i in (2, 3, 4)
        ],
        "total_count": 3,
    }  # fmt: skip
    everything = client.get(f"/api/v1/workloads/{w.uid}/metrics/data", headers=viewer.headers).json()
    assert everything["data_source"] == ""
    assert everything["total_count"] == len(everything["data"]) == 11
    assert "next_cursor" not in everything


def test_paging_buckets_and_csv(client: TestClient, viewer: ApiUser, database_url: str) -> None:
    w, _ = _seed(database_url)
    url = f"/api/v1/workloads/{w.uid}/metrics/data"
    seen, cursor = [], None
    while True:
        page = client.get(
            url, params={"limit": 4, **({"cursor": cursor} if cursor else {})}, headers=viewer.headers
        )
        body = page.json()
        assert body["total_count"] == len(body["data"])  # Lens's meaning: the points in this answer
        seen += body["data"]
        cursor = body.get("next_cursor")
        if cursor is None:
            break
    assert len(seen) == 11
    assert [p["timestamp"] for p in seen] == sorted(p["timestamp"] for p in seen)
    buckets = client.get(
        url,
        params={"metrics": "loss", "data_source": "log", "bucket": 2000, "agg": "max"},
        headers=viewer.headers,
    ).json()
    # Buckets of 2 s from the epoch: steps {1}, {2,3}, {4,5}; the value is the max, the iteration the last.
    assert [(p["timestamp"] - MS0, round(p["value"], 6), p["iteration"]) for p in buckets["data"]] == [
        (0, 2.9, 1), (2000, 2.8, 3), (4000, 2.6, 5),
    ]  # fmt: skip
    last = client.get(url, params={"metrics": "loss", "data_source": "log", "bucket": 2000, "agg": "last"},
                      headers=viewer.headers).json()  # fmt: skip
    assert [round(p["value"], 6) for p in last["data"]] == [2.9, 2.7, 2.5]
    text = client.get(url, params={"format": "csv", "metrics": "loss"}, headers=viewer.headers)
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.text)))
    assert len(rows) == 6
    assert set(rows[0]) == {"metric_name", "value", "timestamp", "iteration", "data_source"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"data_source": "prometheus"}, "data_source"),
        ({"start": "yesterday"}, "start"),
        ({"end": "1.5"}, "end"),
        ({"start": "2000", "end": "1000"}, "start"),
        ({"limit": "0"}, "limit"),
        ({"limit": "lots"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"bucket": "-5"}, "bucket"),
        ({"bucket": "1000", "agg": "median"}, "agg"),
        ({"agg": "avg"}, "agg"),
        ({"format": "xml"}, "format"),
    ],
)
def test_every_bad_parameter_is_a_400_naming_it(
    client: TestClient, viewer: ApiUser, database_url: str, params: dict[str, str], parameter: str
) -> None:
    w, _ = _seed(database_url)
    r = client.get(f"/api/v1/workloads/{w.uid}/metrics/data", params=params, headers=viewer.headers)
    assert r.status_code == 400, r.text
    assert r.json()["details"] == {"parameter": parameter}
    assert r.json()["message"].startswith(parameter)


def test_unknown_workload_is_a_400(client: TestClient, viewer: ApiUser) -> None:
    for path in ("metrics/available", "metrics/data"):
        r = client.get(f"/api/v1/workloads/no-such-uid/{path}", headers=viewer.headers)
        assert r.status_code == 400
        assert r.json()["details"] == {"parameter": "workload_uid"}


def test_mlflow_down_is_a_503_only_for_those_who_asked_for_its_points(
    api_settings: ApiSettings, viewer: ApiUser, database_url: str
) -> None:
    """The job's MLflow runs are read when a query covers `mlflow`; with the tracking server gone, a
    query for every source still serves the kept points, one for `mlflow` says why it cannot."""
    w, _ = _seed(database_url)
    dead = f"http://127.0.0.1:{free_port()}"
    settings = api_settings.model_copy(
        update={"mlflow_tracking_uri": dead, "mlflow_request_timeout_seconds": 2.0}
    )
    url = f"/api/v1/workloads/{w.uid}/metrics"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get(f"{url}/available", headers=viewer.headers)
        assert r.status_code == 200, r.text
        assert [m["name"] for m in r.json()["metrics"]] == ["learning_rate", "loss"]
        assert client.get(f"{url}/data", headers=viewer.headers).json()["total_count"] == 11
        assert (
            client.get(f"{url}/data", params={"data_source": "log"}, headers=viewer.headers).status_code
            == 200
        )
        started = time.monotonic()
        r = client.get(f"{url}/data", params={"data_source": "mlflow"}, headers=viewer.headers)
        assert time.monotonic() - started < 6.0
    assert r.status_code == 503
    assert r.json()["code"] == "mlflow_unavailable"


def test_ingest_is_idempotent_validated_and_for_operators(
    client: TestClient, operator: ApiUser, viewer: ApiUser, database_url: str
) -> None:
    w, _ = _seed(database_url)
    url = f"/api/v1/workloads/{w.uid}/metrics"
    points = [
        {
            "metric_name": "train/loss",
            "value": 1.25,
            "timestamp": MS0 + i,
            "iteration": i,
            "data_source": "wandb",
        }
        for i in range(3)
    ]
    first = client.post(url, json={"points": points}, headers=operator.headers)
    assert first.json() == {"workload_uid": w.uid, "received": 3, "stored": 3}
    again = client.post(url, json={"points": points}, headers=operator.headers)
    assert again.json() == {"workload_uid": w.uid, "received": 3, "stored": 0}
    r = client.get(f"{url}/data", params={"metrics": "train/loss"}, headers=viewer.headers)
    assert r.json()["total_count"] == 3
    assert client.post(url, json={"points": points}, headers=viewer.headers).status_code == 403
    bad = [
        {"points": []},
        {"points": [{**points[0], "data_source": "prometheus"}]},
        {"points": [{**points[0], "metric_name": ""}]},
        {"points": [{**points[0], "timestamp": -1}]},
        {"points": [points[0]] * 10_001},
    ]
    for body in bad:
        assert client.post(url, json=body, headers=operator.headers).status_code in (413, 422)
    assert (
        client.post(
            "/api/v1/workloads/nope/metrics", json={"points": points}, headers=operator.headers
        ).status_code
        == 400
    )


def test_viewers_read_only_namespaces_they_can_see(
    client: TestClient, make_user: Callable[..., ApiUser], database_url: str
) -> None:
    w, cluster = _seed(database_url, namespace="team-b")
    outsider = make_user(Role.viewer, namespaces=["team-a"])
    insider = make_user(Role.viewer, namespaces=["team-b"])
    logs = f"/api/v1/clusters/{cluster}/trainingjobs/team-b/{w.name}/logs"
    for who, status in ((outsider, 403), (insider, 200)):
        assert (
            client.get(f"/api/v1/workloads/{w.uid}/metrics/available", headers=who.headers).status_code
            == status
        )
        assert (
            client.get(f"/api/v1/workloads/{w.uid}/metrics/data", headers=who.headers).status_code == status
        )
        assert client.get(logs, headers=who.headers).status_code == status
        assert client.get(logs + "/download", headers=who.headers).status_code == status


def test_kept_logs_filter_page_tail_and_download(
    client: TestClient, viewer: ApiUser, database_url: str
) -> None:
    w, cluster = _seed(database_url)
    url = f"/api/v1/clusters/{cluster}/trainingjobs/{w.namespace}/{w.name}/logs"
    page = client.get(url, headers=viewer.headers).json()
    assert [line["line"] for line in page["lines"]] == [
        f"{p} line {i}" for p in ("master-0", "worker-0") for i in range(1, 6)
    ]
    assert page["next_cursor"] is None
    assert [(s["pod"], s["lines"], s["dropped"]) for s in page["streams"]] == [
        ("master-0", 5, 0),
        ("worker-0", 5, 0),
    ]
    first = client.get(url, params={"pod": "worker-0", "limit": 3}, headers=viewer.headers).json()
    assert [line["seq"] for line in first["lines"]] == [1, 2, 3]
    rest = client.get(
        url, params={"pod": "worker-0", "cursor": first["next_cursor"]}, headers=viewer.headers
    ).json()
    assert [line["seq"] for line in rest["lines"]] == [4, 5]
    tail = client.get(url, params={"tail": 2, "container": "pytorch"}, headers=viewer.headers).json()
    assert [line["line"] for line in tail["lines"]] == ["worker-0 line 4", "worker-0 line 5"]
    since = (T0 + timedelta(seconds=4)).isoformat()
    assert len(client.get(url, params={"since": since}, headers=viewer.headers).json()["lines"]) == 4
    text = client.get(
        url + "/download", params={"pod": "master-0", "container": "pytorch"}, headers=viewer.headers
    )
    assert text.text == "".join(f"master-0 line {i}\n" for i in range(1, 6))
    both = client.get(url + "/download", headers=viewer.headers).text.splitlines()
    assert both[0] == "[master-0/pytorch] master-0 line 1"
    assert len(both) == 10
    for params in (
        {"tail": "x"},
        {"limit": "0"},
        {"since": "soon"},
        {"cursor": "-1"},
        {"tail": 1, "cursor": 1},
    ):
        r = client.get(url, params=params, headers=viewer.headers)
        assert r.status_code == 400, params
    # The download checks before its first byte, so a bad parameter is still a proper 400.
    r = client.get(url + "/download", params={"since": "soon"}, headers=viewer.headers)
    assert (r.status_code, r.json()["details"]) == (400, {"parameter": "since"})
    assert client.get(url.replace(w.name, "never-ran"), headers=viewer.headers).status_code == 404
