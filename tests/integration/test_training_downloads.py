"""download_model end to end: the operation follows the download Job's progress lines to 100 % and
succeeds when the Job does; a failing download fails the operation with the Job's reason and the pod's
last line; `GET /clusters/{c}/downloads` lists them with their progress; the token stays in a Secret that
goes with the Job.

This module runs its own kubesim whose generic jobs take 40 simulated seconds (2 s at speed 20), so the
progress can be watched, and whose pods named `broken-*` fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_kubesim.scenario import scenario_path
from podium_shared.kube.clients import reset_cache
from podium_shared.models.operation import OperationStatus
from podium_shared.realtime.keys import stream_key
from support.waiting import wait_until
from worker.fixtures import KUBESIM_SPEED, Pipeline

from integration.serving_helpers import *  # noqa: F403  (serving_api, watcher)
from integration.serving_helpers import ServingApi, succeeded
from integration.training_helpers import *  # noqa: F403  (worker with a fast download poll)

pytestmark = pytest.mark.usefixtures("worker", "watcher")


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKubeSim]:
    scenario = yaml.safe_load(scenario_path(None).read_text())
    scenario.setdefault("timings", {})["jobRunSeconds"] = 40
    scenario.setdefault("faults", {})["failPods"] = ["broken-*"]
    path: Path = tmp_path_factory.mktemp("scenario") / "downloads.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with start_kubesim(scenario=path, speed=KUBESIM_SPEED) as running:
        yield running
    reset_cache()


def _progress_events(pipeline: Pipeline, op_id: str) -> list[dict[str, Any]]:
    """Every state of the operation the consoles were sent, in order."""
    out = []
    for _id, fields in pipeline.redis.xrange(stream_key("sim")):
        if fields.get(b"topic") != b"operations":
            continue
        obj = json.loads(fields[b"object"])
        if obj["id"] == op_id and obj.get("progress"):
            out.append(obj["progress"])
    return out


def test_a_download_reports_its_progress_to_100_percent_and_succeeds(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    token = "hf_download_token_1234"
    r = serving_api.command(
        "download_model", sim_cluster, {"namespace": namespace, "model": "Qwen/Qwen3-0.6B", "hf_token": token}
    )
    assert r.status_code == 202, r.text
    op_id = r.json()["id"]
    assert r.json()["params"]["hf_token"] == "***"
    done = succeeded(pipeline, op_id, timeout=90)
    name = done.result["name"]
    assert done.result["local_dir"] == "/models/Qwen/Qwen3-0.6B"
    assert done.progress is not None
    assert (done.progress["percent"], done.progress["files_done"], done.progress["files_total"]) == (
        100,
        10,
        10,
    )
    percents = [p["percent"] for p in _progress_events(pipeline, op_id)]
    assert percents == sorted(percents), percents  # it only moves forward
    assert percents[-1] == 100
    assert len(set(percents)) >= 3, percents  # it followed the download, not only its end

    core, batch = k8s.CoreV1Api(kube), k8s.BatchV1Api(kube)
    job = batch.read_namespaced_job(name, namespace)
    container = job.spec.template.spec.containers[0]
    assert container.command[:6] == ["uvx", "--from", "huggingface_hub[cli]", "huggingface-cli", "download",
                                     "Qwen/Qwen3-0.6B"]  # fmt: skip
    assert container.env[-1].value_from.secret_key_ref.name == done.result["secret"]
    assert token not in json.dumps(kube.sanitize_for_serialization(job))
    secret = core.read_namespaced_secret(done.result["secret"], namespace)
    assert [o.uid for o in secret.metadata.owner_references] == [job.metadata.uid]

    def listed() -> dict[str, Any] | None:
        r = serving_api.client.get(
            f"/api/v1/clusters/{sim_cluster}/downloads", params={"namespace": namespace},
            headers=serving_api.headers,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        return next((d for d in r.json() if d["name"] == name and d["status"] == "Succeeded"), None)

    row = wait_until(listed, 30, "the download to be listed as succeeded")
    assert (row["model"], row["revision"], row["percent"], row["operation_id"]) == (
        "Qwen/Qwen3-0.6B", "main", 100, op_id,
    )  # fmt: skip
    assert (row["files_done"], row["files_total"], row["pvc"]) == (10, 10, "s3-claim")


def test_a_failing_download_fails_its_operation_with_the_reason(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, namespace: str
) -> None:
    params = {"namespace": namespace, "model": "meta-llama/Llama-3.1-8B", "name": "broken"}
    r = serving_api.command("download_model", sim_cluster, params)
    assert r.status_code == 202, r.text
    done = pipeline.wait_finished(r.json()["id"], timeout=120)
    assert done.status == OperationStatus.failed
    assert done.error is not None
    assert done.error["code"] == "download_failed"
    assert "Job has reached the specified backoff limit" in done.error["message"]
    assert "GatedRepoError" in done.error["message"]
    assert done.progress is not None
    assert done.progress["percent"] == 30
