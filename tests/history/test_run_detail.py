"""One run in full, compare, the link to its Kubernetes job, per-cluster tracking servers and the 503
when MLflow is down or silent (all against a real MLflow server)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from api.fixtures import unique
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.clusters.service import register_cluster
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedMlflow, free_port
from podium_shared.history.client import Tracking
from podium_shared.history.reads import WorkloadRef, experiments, workload_metrics
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter
from podium_shared.telemetry.store import Workload, remember_workload
from redis import Redis
from support.tcp_proxy import TcpProxy

from history.helpers import experiment, get_json, make_run

RUNS = "/api/v1/training/runs"

# The first test of a worker that needs the MLflow server pays its start-up (minutes on a loaded machine).
pytestmark = pytest.mark.timeout(900)


def test_run_detail_has_params_tags_and_each_metric_history(
    history: TestClient, mlflow: MlflowClient, viewer
) -> None:
    eid, name = experiment(mlflow, "detail")
    run_id = make_run(
        mlflow,
        eid,
        name="sft",
        tags={"model": "Qwen-Qwen3-0.6B"},
        params={"learning_rate": "5e-05", "per_device_train_batch_size": "4"},
        history={"loss": [2.6, 2.1, 1.7], "learning_rate": [5e-5, 4e-5, 2e-5]},
        final={"train_samples_per_second": 2.184, "train_runtime": 42.0},
    )
    body = get_json(history, f"{RUNS}/{run_id}", viewer.headers)
    assert body["experiment"] == name
    assert body["run_name"] == "sft"
    assert body["status"] == "FINISHED"
    assert body["params"] == {"learning_rate": "5e-05", "per_device_train_batch_size": "4"}
    assert body["tags"] == {"model": "Qwen-Qwen3-0.6B"}
    assert body["metrics"]["loss"] == 1.7
    assert body["metrics"]["train_samples_per_second"] == 2.184
    assert [(p["step"], p["value"]) for p in body["metric_history"]["loss"]] == [(1, 2.6), (2, 2.1), (3, 1.7)]
    assert set(body["metric_history"]) == {
        "loss",
        "learning_rate",
        "train_samples_per_second",
        "train_runtime",
    }
    assert body["duration_seconds"] is not None
    assert body["job"] is None  # no cluster knows a job of that name

    r = history.get(f"{RUNS}/{'0' * 32}", headers=viewer.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "mlflow_not_found"


def test_compare_aligns_histories_by_step(history: TestClient, mlflow: MlflowClient, viewer) -> None:
    eid, _ = experiment(mlflow, "compare")
    a = make_run(mlflow, eid, name="a", history={"loss": [3.0, 2.0, 1.0, 0.5]})
    b = make_run(mlflow, eid, name="b", history={"loss": [2.5, 1.5], "grad_norm": [1.0, 0.9]})
    body = get_json(
        history, "/api/v1/training/compare", viewer.headers, runs=f"{a},{b}", metrics="loss,grad_norm"
    )
    assert [r["run_name"] for r in body["runs"]] == ["a", "b"]
    assert body["steps"] == [1, 2, 3, 4]
    assert body["series"]["loss"] == {a: [3.0, 2.0, 1.0, 0.5], b: [2.5, 1.5, None, None]}
    assert body["series"]["grad_norm"] == {a: [None] * 4, b: [1.0, 0.9, None, None]}
    r = history.get("/api/v1/training/compare", headers=viewer.headers, params={"runs": ",".join(["x"] * 0)})
    assert r.status_code == 422


def _snapshot_job(settings: ApiSettings, cluster: str, job: dict[str, Any]) -> None:
    """Writes a training job into the cluster's snapshot the way the watcher does (leader token, Lua)."""
    redis = Redis.from_url(settings.redis_url)
    token = LeaderLock(redis, cluster, "test", ttl_seconds=60).try_acquire()
    assert token
    writer = StateWriter(redis, cluster, token)
    writer.write(writer.replace("pytorchjobs", [job]))
    redis.close()


def _job(name: str, ns: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": "1"},
    }


def test_run_links_to_its_job_by_workload_uid_else_by_name(
    history: TestClient, mlflow: MlflowClient, mlflow_settings: ApiSettings, viewer, cluster: str
) -> None:
    job_name = unique("sft-job")
    _snapshot_job(mlflow_settings, cluster, _job(job_name, "team-a", "uid-1234"))
    eid, _ = experiment(mlflow, "link")
    by_uid = make_run(mlflow, eid, name="anything", tags={"podium.workload_uid": "uid-1234"})
    by_name = make_run(mlflow, eid, name=job_name)
    nowhere = make_run(mlflow, eid, name=unique("no-such-job"))

    job = get_json(history, f"{RUNS}/{by_uid}", viewer.headers)["job"]
    assert job == {
        "cluster": cluster, "namespace": "team-a", "name": job_name, "kind": "PyTorchJob", "uid": "uid-1234",
        "matched_by": "workload_uid",
    }  # fmt: skip
    job = get_json(history, f"{RUNS}/{by_name}", viewer.headers)["job"]
    assert (job["name"], job["matched_by"]) == (job_name, "name")
    assert get_json(history, f"{RUNS}/{nowhere}", viewer.headers)["job"] is None


def test_a_run_tagged_with_a_deleted_jobs_uid_links_to_the_kept_workload(
    history: TestClient, mlflow: MlflowClient, mlflow_settings: ApiSettings, viewer, cluster: str
) -> None:
    uid = unique("uid")
    with unit_of_work(session_factory(mlflow_settings.database_url)) as session:
        remember_workload(session, Workload(uid, cluster, "team-a", "gone-job", "PyTorchJob"))
    eid, _ = experiment(mlflow, "gone")
    run_id = make_run(mlflow, eid, name="anything", tags={"podium.workload_uid": uid})
    assert get_json(history, f"{RUNS}/{run_id}", viewer.headers)["job"] == {
        "cluster": cluster, "namespace": "team-a", "name": "gone-job", "kind": "PyTorchJob", "uid": uid,
        "matched_by": "workload_uid",
    }  # fmt: skip


def test_a_cluster_may_have_its_own_tracking_server(
    api_settings: ApiSettings, mlflow_server: EmbeddedMlflow, mlflow: MlflowClient, viewer, admin
) -> None:
    """No global URI at all: the cluster's own one is used when the request names the cluster."""
    eid, name = experiment(mlflow, "own")
    run_id = make_run(mlflow, eid, name="mine")
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        r = client.get(RUNS, headers=viewer.headers, params={"experiment": name})
        assert r.status_code == 503
        assert r.json()["code"] == "mlflow_not_configured"
        cname = unique("c")
        r = client.post(
            "/api/v1/clusters",
            headers=admin.headers,
            json={"name": cname, "context": "x", "mlflow_tracking_uri": mlflow_server.url},
        )
        assert r.status_code == 201, r.text
        assert r.json()["mlflow_tracking_uri"] == mlflow_server.url
        body = get_json(client, RUNS, viewer.headers, experiment=name, cluster=cname)
        assert [x["id"] for x in body["runs"]] == [run_id]
        assert body["tracking_uri"] == mlflow_server.url
        r = client.post(
            "/api/v1/clusters",
            headers=admin.headers,
            json={"name": unique("c"), "context": "x", "mlflow_tracking_uri": "ftp://nope; rm -rf /"},
        )
        assert r.status_code == 422


@pytest.fixture
def proxied(
    api_settings: ApiSettings, mlflow_server: EmbeddedMlflow
) -> Iterator[tuple[TestClient, TcpProxy]]:
    proxy = TcpProxy(mlflow_server.port)
    settings = api_settings.model_copy(
        update={"mlflow_tracking_uri": proxy.url, "mlflow_request_timeout_seconds": 2.0}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, proxy
    proxy.close()


def test_mlflow_stopped_or_silent_is_503_within_the_timeout(
    proxied: tuple[TestClient, TcpProxy], mlflow: MlflowClient, viewer
) -> None:
    client, proxy = proxied
    _, name = experiment(mlflow, "down")
    assert client.get(RUNS, headers=viewer.headers, params={"experiment": name}).status_code == 200

    proxy.silent.set()  # connections accepted, nothing answered: only the deadline can end the wait
    started = time.monotonic()
    r = client.get(f"{RUNS}/{'a' * 32}", headers=viewer.headers)
    assert time.monotonic() - started < 6.0
    assert r.status_code == 503
    assert r.json()["code"] == "mlflow_unavailable"
    assert "did not answer" in r.json()["message"]

    proxy.silent.clear()
    proxy.cut()  # the server is gone: connections refused
    started = time.monotonic()
    r = client.get(f"{RUNS}/{'a' * 32}", headers=viewer.headers)
    assert time.monotonic() - started < 6.0
    assert r.status_code == 503
    assert r.json()["code"] == "mlflow_unavailable"
    assert r.json()["message"].startswith("the MLflow tracking server")


def test_nothing_listening_is_503(api_settings: ApiSettings, viewer) -> None:
    settings = api_settings.model_copy(
        update={
            "mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}",
            "mlflow_request_timeout_seconds": 2.0,
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        started = time.monotonic()
        r = client.get(RUNS, headers=viewer.headers)
        assert time.monotonic() - started < 6.0
    assert r.status_code == 503
    assert r.json()["code"] == "mlflow_unavailable"


def test_openapi_documents_the_503(history: TestClient) -> None:
    paths = history.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/training/runs", "/api/v1/training/runs/{run_id}", "/api/v1/training/compare"):
        assert "503" in paths[path]["get"]["responses"], path


def test_registered_cluster_row_gets_tracking_uri(database_url: str) -> None:
    name = unique("c")
    with unit_of_work(session_factory(database_url)) as session:
        row = register_cluster(session, name, context="x", mlflow_tracking_uri="https://mlflow.example:5000")
        assert row.mlflow_tracking_uri == "https://mlflow.example:5000"


def test_a_workloads_metrics_come_from_its_tagged_runs(
    mlflow_server: EmbeddedMlflow, mlflow: MlflowClient
) -> None:
    """The seam the training-metrics API's data_source=mlflow reads through. The experiment list is
    cached for pages; filled before the run's experiment existed (as another request would have, moments
    earlier), it must not hide the run — the once-seen KeyError 'loss'."""
    t = Tracking(mlflow_server.url, 5.0)
    experiments(t, refresh=True)
    eid, _ = experiment(mlflow, "workload")
    uid = unique("uid")
    make_run(mlflow, eid, tags={"podium.workload_uid": uid}, history={"loss": [2.0, 1.5, 1.0]})
    make_run(mlflow, eid, tags={"podium.workload_uid": "someone-else"}, history={"loss": [9.0]})
    got = workload_metrics(t, uid)
    assert [(p.step, p.value) for p in got["loss"]] == [(1, 2.0), (2, 1.5), (3, 1.0)]
    assert workload_metrics(t, "x' OR tags.model = 'y") == {}


def test_a_jobs_runs_are_found_by_its_submission_else_by_its_names(
    mlflow_server: EmbeddedMlflow, mlflow: MlflowClient
) -> None:
    t = Tracking(mlflow_server.url, 5.0)
    eid, _ = experiment(mlflow, "byop")
    job = unique("job")
    names = {"podium.cluster": "c1", "podium.namespace": "team-a", "podium.job": job}
    op, earlier_op = str(uuid.uuid4()), str(uuid.uuid4())
    make_run(mlflow, eid, tags={**names, "podium.operation_id": op}, history={"loss": [2.0, 1.0]})
    # The same name submitted before (another operation), and a run tagged for another workload.
    make_run(mlflow, eid, tags={**names, "podium.operation_id": earlier_op}, history={"loss": [7.0]})
    make_run(mlflow, eid, tags={**names, "podium.workload_uid": "other-uid"}, history={"loss": [8.0]})

    mine = WorkloadRef(uid="uid-1", cluster="c1", namespace="team-a", name=job, operation_id=op)
    assert [(p.step, p.value) for p in workload_metrics(t, mine)["loss"]] == [(1, 2.0), (2, 1.0)]
    # A job Podium did not submit: by its names, never a run another workload claims by uid.
    by_name = WorkloadRef(uid="uid-2", cluster="c1", namespace="team-a", name=job)
    assert sorted(p.value for p in workload_metrics(t, by_name)["loss"]) == [1.0, 2.0, 7.0]
    assert workload_metrics(t, WorkloadRef(uid="uid-3", cluster="c1", namespace="team-b", name=job)) == {}
