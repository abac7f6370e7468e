"""`podium train submit|list|describe|delete` and `podium download` as a script uses them: a real API on a
real port, the worker, the watcher and kubesim; output formats and exit codes checked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from podium_cli.client import ExitCode
from support.waiting import wait_until

from integration.cli_helpers import *  # noqa: F403  (api_url, podium)
from integration.cli_helpers import Podium
from integration.serving_helpers import *  # noqa: F403  (serving_api, watcher)
from integration.training_helpers import *  # noqa: F403  (worker with MLflow settings)

pytestmark = pytest.mark.usefixtures("worker", "watcher")


def test_training_workflow_from_the_cli(
    podium: Podium, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    where = ["-c", sim_cluster, "-n", namespace]
    submitted = podium(
        "-o", "json", "train", "submit", "qwen-sft", "--type", "hyperpod",
        "--model", "Qwen/Qwen2.5-0.5B-Instruct", "--dataset", "alpaca_en_demo", "--template", "qwen",
        "--batch-size", "4", "--deepspeed", "z2", "--max-steps", "6", "--replicas", "2",
        "--env", "KUBESIM_STEP_SECONDS=1", "--wait", *where,
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    op = json.loads(submitted.stdout)
    assert (op["status"], op["result"]["kind"]) == ("succeeded", "HyperPodPyTorchJob")

    def listed() -> dict[str, Any] | None:
        r = podium("-o", "json", "train", "list", *where)
        assert r.exit_code == 0, r.output
        return next((j for j in json.loads(r.stdout) if j["name"] == "qwen-sft"), None)

    row = wait_until(listed, 20, "the job in `train list`")
    assert (row["type"], row["model"], row["dataset"], row["replicas"]) == (
        "hyperpod", "Qwen/Qwen2.5-0.5B-Instruct", "alpaca_en_demo", 2,
    )  # fmt: skip

    def finished() -> dict[str, Any] | None:
        r = podium("-o", "json", "train", "describe", "qwen-sft", *where)
        page = json.loads(r.stdout) if r.exit_code == 0 else None
        return page if page and page["status"]["phase"] == "Succeeded" else None

    page = wait_until(finished, 60, "the job to succeed")
    assert page["settings"]["llamafactory"]["batch_size"] == 4

    def measured() -> (
        dict[str, Any] | None
    ):  # the collector keeps the last lines' points moments after the end
        r = podium("-o", "json", "train", "describe", "qwen-sft", *where)
        latest: dict[str, Any] | None = json.loads(r.stdout)["latest_metrics"]
        return latest if latest and "train_runtime" in latest else None

    latest = wait_until(measured, 60, "the job's latest metrics")
    assert {"loss", "learning_rate", "train_runtime"} <= set(latest)
    table = podium("train", "describe", "qwen-sft", *where)
    assert table.exit_code == 0
    assert "qwen-sft-pods-0" in table.stdout
    assert "Succeeded" in table.stdout
    assert "train_runtime" in table.stdout

    # A custom command after `--`: every word is one argv element, options included.
    custom = podium(
        "-o", "json", "train", "submit", "custom", "--wait", *where, "--",
        "torchrun", "--nproc_per_node=1", "train.py", "--lr", "$(HOME)",
    )  # fmt: skip
    assert custom.exit_code == 0, custom.output
    job = k8s.CustomObjectsApi(kube).get_namespaced_custom_object(
        "kubeflow.org", "v1", namespace, "pytorchjobs", "custom"
    )
    container = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["torchrun", "--nproc_per_node=1", "train.py", "--lr", "$$(HOME)"]

    deleted = podium("-o", "json", "train", "delete", "qwen-sft", "--wait", *where)
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout)["result"]["deleted"]["job"] == ["HyperPodPyTorchJob"]

    refused = podium("train", "submit", "bad", "--model", "x; reboot", "--dataset", "d", *where)
    assert refused.exit_code == ExitCode.usage
    assert "model" in refused.output
    missing = podium("train", "describe", "nope", *where)
    assert missing.exit_code == ExitCode.not_found


def test_download_from_the_cli(podium: Podium, sim_cluster: str, namespace: str) -> None:
    where = ["-c", sim_cluster, "-n", namespace]
    done = podium("-o", "json", "download", "Qwen/Qwen3-0.6B", "--revision", "main", "--wait", *where)
    assert done.exit_code == 0, done.output
    op = json.loads(done.stdout)
    assert op["progress"]["percent"] == 100
    assert op["result"]["local_dir"] == "/models/Qwen/Qwen3-0.6B"
    assert "100 %" in done.stderr
