"""kubesim training pods report to a real MLflow tracking server when their env asks for it, as
LLaMA-Factory's MLflow callback does; without MLFLOW_TRACKING_URI they report nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes import client
from mlflow import MlflowClient
from mlflow.entities import ViewType
from podium_kubesim.runner import RunningKubeSim
from podium_shared.embedded import EmbeddedMlflow

from kubesim.helpers import wait_for

SPEED = 50
TAGS = {
    "model": "Qwen-Qwen3-0.6B", "dataset": "identity", "instance_type": "ml.g5.12xlarge",
    "replica_count": "2", "proc_per_node": "1", "batch_size": "4", "cutoff_len": "2048",
    "deepspeed_conf": "ds_z0_config.json", "podium.workload_uid": "uid-of-the-job",
}  # fmt: skip

# The first test of a worker that needs the MLflow server pays its start-up (minutes on a loaded machine).
pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def api(small_cluster: tuple[RunningKubeSim, client.ApiClient]) -> client.ApiClient:
    return small_cluster[1]


@pytest.fixture(scope="module")
def mlflow(mlflow_server: EmbeddedMlflow) -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow_server.url)


def _job(name: str, env: list[dict[str, str]], *, steps: int = 10, fail: bool = False) -> dict[str, Any]:
    annotations = {"kubesim.podium.dev/train-steps": str(steps)}
    if fail:
        annotations["kubesim.podium.dev/fail"] = "true"
    template = {
        "metadata": {"annotations": annotations},
        "spec": {
            "containers": [
                {"name": "pytorch", "image": "hiyouga/llamafactory:0.9.3",
                 "command": ["llamafactory-cli", "train", "sft.yaml"], "env": env}
            ]
        },
    }  # fmt: skip
    replicas = {"Master": {"replicas": 1, "restartPolicy": "Never", "template": template}}
    if not fail:
        replicas["Worker"] = {"replicas": 1, "restartPolicy": "Never", "template": template}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {"pytorchReplicaSpecs": replicas},
    }


def _mlflow_env(server: EmbeddedMlflow, experiment: str, run_name: str) -> list[dict[str, str]]:
    return [
        {"name": "MLFLOW_TRACKING_URI", "value": server.url},
        {"name": "MLFLOW_EXPERIMENT_NAME", "value": experiment},
        {"name": "MLFLOW_RUN_NAME", "value": run_name},
        {"name": "MLFLOW_TAGS", "value": json.dumps(TAGS)},
    ]


def _finished_runs(mlflow: MlflowClient, experiment: str) -> list[Any]:
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return []
    runs = mlflow.search_runs([exp.experiment_id])
    return runs if runs and all(r.info.status != "RUNNING" for r in runs) else []


def test_a_training_job_logs_its_run_like_llamafactory(
    api: client.ApiClient, ns: str, mlflow: MlflowClient, mlflow_server: EmbeddedMlflow
) -> None:
    experiment = f"kubesim-{uuid.uuid4().hex[:8]}"
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kubeflow.org",
        "v1",
        ns,
        "pytorchjobs",
        _job("sft", _mlflow_env(mlflow_server, experiment, "sft-run-1")),
    )
    runs = wait_for(lambda: _finished_runs(mlflow, experiment), 120, "the job's MLflow run to end")
    assert len(runs) == 1  # only rank 0 reports, as the Trainer does
    run = runs[0]
    assert run.info.run_name == "sft-run-1"
    assert run.info.status == "FINISHED"
    assert {k: run.data.tags[k] for k in TAGS} == TAGS
    assert run.data.params["learning_rate"]
    assert run.data.params["max_steps"] == "10"
    for key in ("train_samples_per_second", "train_steps_per_second", "train_runtime", "loss", "epoch"):
        assert key in run.data.metrics, key
    loss = mlflow.get_metric_history(run.info.run_id, "loss")
    steps = [m.step for m in sorted(loss, key=lambda m: m.step)]
    assert len(steps) >= 5
    assert steps == sorted(set(steps))
    assert steps[-1] == 10
    for key in ("learning_rate", "grad_norm"):
        assert len(mlflow.get_metric_history(run.info.run_id, key)) >= 5


def test_a_failed_job_ends_its_run_failed(
    api: client.ApiClient, ns: str, mlflow: MlflowClient, mlflow_server: EmbeddedMlflow
) -> None:
    experiment = f"kubesim-{uuid.uuid4().hex[:8]}"
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kubeflow.org", "v1", ns, "pytorchjobs",
        _job("bad", _mlflow_env(mlflow_server, experiment, "bad-run"), steps=3, fail=True),
    )  # fmt: skip
    runs = wait_for(lambda: _finished_runs(mlflow, experiment), 120, "the failed job's run to end")
    assert [r.info.status for r in runs] == ["FAILED"]


def test_a_job_without_mlflow_env_logs_nothing(api: client.ApiClient, ns: str, mlflow: MlflowClient) -> None:
    name = f"quiet-{uuid.uuid4().hex[:6]}"
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        "kubeflow.org", "v1", ns, "pytorchjobs",
        _job(name, [{"name": "MLFLOW_EXPERIMENT_NAME", "value": name}], steps=3),
    )  # fmt: skip

    def done() -> bool:
        job = custom.get_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", name)
        return any(c["type"] == "Succeeded" and c["status"] == "True" for c in job["status"]["conditions"])

    wait_for(done, 120, "the job to succeed")
    assert mlflow.get_experiment_by_name(name) is None
    everywhere = [e.experiment_id for e in mlflow.search_experiments(view_type=ViewType.ALL)]
    assert mlflow.search_runs(everywhere, filter_string=f"attributes.run_name = '{name}'") == []
