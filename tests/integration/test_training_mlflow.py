"""A training job submitted with an MLflow experiment, end to end against a real MLflow tracking server:
kubesim's training pod logs the run as LLaMA-Factory's MLflow callback does, with the tags submit passed
through MLFLOW_TAGS; the training history lists it with its tag columns; the run links back to the job
that created it (also once the job is deleted); and the job's training-metrics API serves the run's loss
history as `data_source=mlflow`, beside the points parsed from its log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api.fixtures import unique
from mlflow import MlflowClient
from podium_shared.embedded import EmbeddedMlflow
from podium_shared.settings import PodiumSettings
from support.waiting import wait_until
from worker.fixtures import MlflowWorker, Pipeline, WorkerProcess

from integration.serving_helpers import ServingApi, api_for, succeeded, watching
from integration.training_helpers import wait_phase

pytestmark = [pytest.mark.usefixtures("worker", "watcher"), pytest.mark.timeout(900)]
TAG_COLUMNS = [
    "model", "dataset", "instance_type", "replica_count", "proc_per_node", "batch_size", "cutoff_len",
    "deepspeed_conf",
]  # fmt: skip


@pytest.fixture(scope="module")
def mlflow_settings(pipeline: Pipeline, mlflow_server: EmbeddedMlflow) -> PodiumSettings:
    return pipeline.settings.model_copy(
        update={"mlflow_tracking_uri": mlflow_server.url, "mlflow_request_timeout_seconds": 10.0}
    )


@pytest.fixture(scope="module")
def worker(
    pipeline: Pipeline,
    sim_cluster: str,
    mlflow_server: EmbeddedMlflow,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    proc = MlflowWorker(pipeline.settings, log, mlflow_server.url).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def watcher(mlflow_settings: PodiumSettings, sim_cluster: str) -> Iterator[None]:
    with watching(mlflow_settings):
        yield


@pytest.fixture(scope="module")
def api(pipeline: Pipeline, mlflow_settings: PodiumSettings, sim_cluster: str) -> Iterator[ServingApi]:
    with api_for(pipeline, mlflow_settings) as serving_api:
        yield serving_api


def _get(api: ServingApi, url: str, **params: Any) -> Any:
    r = api.client.get(url, headers=api.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_submitted_jobs_run_is_in_the_history_linked_to_its_job_and_its_metrics(
    pipeline: Pipeline, api: ServingApi, sim_cluster: str, namespace: str, mlflow_server: EmbeddedMlflow
) -> None:
    experiment = unique("sft-mlflow")
    params = {
        "namespace": namespace,
        "name": "sft-ml",
        "type": "pytorchjob",
        "llamafactory": {
            "model": "Qwen/Qwen2.5-0.5B-Instruct", "dataset": "alpaca_en_demo", "template": "qwen",
            "batch_size": 2, "cutoff_len": 1024, "deepspeed": "z2", "max_steps": 8, "logging_steps": 2,
        },
        "instance_type": "ml.g5.12xlarge",
        "replicas": 1,
        "procs_per_node": 1,
        "env": {"KUBESIM_STEP_SECONDS": "2"},
        "mlflow_experiment": experiment,
        # Reaches MLflow as typed: `$` doubled by Podium, undone by the kubelet (kubesim's, here).
        "mlflow_run_name": "run $(whoami) 1",
    }  # fmt: skip
    r = api.command("submit_training_job", sim_cluster, params)
    assert r.status_code == 202, r.text
    op = succeeded(pipeline, r.json()["id"])
    assert op.result is not None
    uid = op.result["uid"]
    wait_phase(api, sim_cluster, namespace, "sft-ml", "Succeeded", timeout=180)

    # The history lists the run, with the job's settings as tag columns in the table's order.
    def finished() -> Any:
        page = _get(api, "/api/v1/training/runs", experiment=experiment)
        return page if page["runs"] and page["runs"][0]["status"] == "FINISHED" else None

    page = wait_until(finished, 60, "the run to be listed FINISHED")
    [run] = page["runs"]
    assert run["run_name"] == "run $(whoami) 1"
    assert page["tag_columns"][: len(TAG_COLUMNS)] == TAG_COLUMNS
    assert {k: run["tags"][k] for k in TAG_COLUMNS} == {
        "model": "Qwen/Qwen2.5-0.5B-Instruct", "dataset": "alpaca_en_demo", "instance_type": "ml.g5.12xlarge",
        "replica_count": "1", "proc_per_node": "1", "batch_size": "2", "cutoff_len": "1024",
        "deepspeed_conf": "z2",
    }  # fmt: skip
    assert run["tags"]["podium.operation_id"] == str(op.id)
    assert (run["tags"]["podium.cluster"], run["tags"]["podium.namespace"]) == (sim_cluster, namespace)

    # The run detail names the job it came from: the submission's own record, exact whatever the name.
    job = {
        "cluster": sim_cluster, "namespace": namespace, "name": "sft-ml", "kind": "PyTorchJob", "uid": uid,
        "matched_by": "operation",
    }  # fmt: skip
    assert _get(api, f"/api/v1/training/runs/{run['id']}")["job"] == job

    # The job's metrics: the run's loss history as data_source=mlflow, beside the log's points.
    history = sorted(
        MlflowClient(mlflow_server.url).get_metric_history(run["id"], "loss"),
        key=lambda m: (m.timestamp, m.step),
    )
    assert len(history) == 4  # 8 steps, a record every 2

    def kept() -> Any:  # the workload is known once the log collector has seen its pods
        r = api.client.get(
            f"/api/v1/workloads/{uid}/metrics/data", headers=api.headers,
            params={"data_source": "mlflow", "metrics": "loss"},
        )  # fmt: skip
        return r.json() if r.status_code == 200 else None

    data = wait_until(kept, 60, "the job's workload to be kept")
    assert [(p["iteration"], p["value"], p["timestamp"]) for p in data["data"]] == [
        (m.step, m.value, m.timestamp) for m in history
    ]
    assert {p["data_source"] for p in data["data"]} == {"mlflow"}

    def both() -> Any:
        body = _get(api, f"/api/v1/workloads/{uid}/metrics/available")
        loss = next((m for m in body["metrics"] if m["name"] == "loss"), None)
        return (
            loss
            if loss is not None and loss["data_source"] == ["log", "mlflow"] and loss["count"] == 8
            else None
        )

    wait_until(both, 60, "the log's loss points beside MLflow's")
    points = _get(api, f"/api/v1/workloads/{uid}/metrics/data", metrics="loss")["data"]
    by_source = {
        s: [(p["iteration"], p["value"]) for p in points if p["data_source"] == s] for s in ("log", "mlflow")
    }
    assert by_source["log"] == by_source["mlflow"] == [(m.step, m.value) for m in history]

    # Deleted, the job is still where the run came from, and its metrics stay readable.
    r = api.command("delete_training_job", sim_cluster, {"namespace": namespace, "name": "sft-ml"})
    assert r.status_code == 202, r.text
    succeeded(pipeline, r.json()["id"])
    assert _get(api, f"/api/v1/training/runs/{run['id']}")["job"] == job
    again = _get(api, f"/api/v1/workloads/{uid}/metrics/data", data_source="mlflow", metrics="loss")
    assert again["data"] == data["data"]
