"""Golden tests: each training case → the exact job Podium sends; the download Job; `$` stays literal."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from podium_shared.training import labels as L
from podium_shared.training.manifests import (
    JobContext,
    build_download_job,
    build_token_secret,
    build_training_job,
    download_name,
    literal,
)
from podium_shared.training.schemas import DownloadModelParams, SubmitTrainingJobParams
from support.training_golden import (
    CASES,
    DEFAULT_IMAGE,
    MLFLOW_URI,
    MODELS_PVC,
    check_golden,
    normalise,
    shape,
)

NAMESPACE = "golden-ns"
OPERATION = "00000000-0000-4000-8000-000000000001"
CTX = JobContext(
    cluster="sim",
    operation_id=OPERATION,
    default_image=DEFAULT_IMAGE,
    models_pvc=MODELS_PVC,
    mlflow_tracking_uri=MLFLOW_URI,
)


def build(case: dict[str, Any], *, secret: str | None = None) -> dict[str, Any]:
    params = SubmitTrainingJobParams.model_validate({**case, "namespace": NAMESPACE})
    return build_training_job(params, CTX, secret=secret)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    job = build(CASES[name])
    check_golden(name, normalise(shape(job), namespace=NAMESPACE, operation_id=OPERATION))


def _expand(value: str) -> str:
    """Kubernetes' `$(VAR)` expansion with no variables defined: `$$` → `$`, `$(X)` stays."""
    return re.sub(r"\$\$", "$", value)


def test_every_dollar_reaches_the_container_literally() -> None:
    job = build(CASES["pytorchjob_llamafactory"])
    container = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    args = [_expand(a) for a in container["args"]]
    assert args[args.index("--run_name") + 1] == "run $(whoami) 1"
    env = {e["name"]: _expand(e["value"]) for e in container["env"] if "value" in e}
    assert env["MLFLOW_RUN_NAME"] == "run $(whoami) 1"
    assert literal("a$b$(c)$$") == "a$$b$$(c)$$$$"


def test_gpus_nodes_and_torchrun_follow_replicas_and_procs_per_node() -> None:
    job = build(CASES["pytorchjob_llamafactory"])
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert (specs["Master"]["replicas"], specs["Worker"]["replicas"]) == (1, 1)
    container = specs["Worker"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"nvidia.com/gpu": "2"}
    assert container["command"][:3] == ["torchrun", "--nnodes=2", "--nproc_per_node=2"]
    assert job["spec"]["nprocPerNode"] == "2"
    hp = build(CASES["hyperpod_llamafactory"])
    assert hp["spec"]["replicaSpecs"][0]["replicas"] == 2
    assert hp["spec"]["replicaSpecs"][0]["template"]["spec"]["containers"][0]["command"][:3] == [
        "hyperpodrun", "--nnodes=2", "--nproc-per-node=1",
    ]  # fmt: skip


def test_mlflow_environment_and_tags() -> None:
    job = build(CASES["pytorchjob_llamafactory"])
    container = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MLFLOW_TRACKING_URI"] == MLFLOW_URI
    assert env["MLFLOW_EXPERIMENT_NAME"] == "qwen-sft"
    tags = json.loads(env["MLFLOW_TAGS"])
    assert {k: tags[k] for k in ("model", "dataset", "instance_type", "replica_count", "proc_per_node",
                                 "batch_size", "cutoff_len", "deepspeed_conf")} == {
        "model": "Qwen/Qwen2.5-0.5B-Instruct", "dataset": "alpaca_en_demo,identity",
        "instance_type": "ml.g5.12xlarge", "replica_count": "2", "proc_per_node": "2",
        "batch_size": "2", "cutoff_len": "1024", "deepspeed_conf": "z3",
    }  # fmt: skip
    assert tags["podium.operation_id"] == OPERATION
    assert (tags["podium.cluster"], tags["podium.namespace"], tags["podium.job"]) == (
        "sim",
        NAMESPACE,
        "sft-pt",
    )
    args = container["args"]
    assert args[args.index("--report_to") + 1] == "mlflow"
    no_mlflow = build(CASES["pytorchjob_command"])
    names = {e["name"] for e in no_mlflow["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
             ["containers"][0]["env"]}  # fmt: skip
    assert not {n for n in names if n.startswith("MLFLOW_")}


def test_token_is_referenced_never_inlined() -> None:
    job = build(CASES["hyperpod_llamafactory"], secret="sft-hp-hf-token")
    text = json.dumps(job)
    assert "secretKeyRef" in text
    secret = build_token_secret(name="sft-hp-hf-token", namespace=NAMESPACE, owner="sft-hp", token="hf_x")
    assert secret["metadata"]["labels"][L.APP_MANAGED_BY] == "podium"
    assert "hf_x" not in json.dumps(secret)  # base64 only


def test_download_job_golden() -> None:
    p = DownloadModelParams.model_validate(
        {"namespace": NAMESPACE, "model": "Qwen/Qwen3-0.6B", "revision": "main"}
    )
    name = download_name(p.model, p.revision)
    job = build_download_job(p, name=name, image="uv:test", pvc=MODELS_PVC, secret=f"{name}-hf-token")
    check_golden("download_job", normalise(job, namespace=NAMESPACE, operation_id=OPERATION))
    assert download_name("Qwen/Qwen3-0.6B", "main") != download_name("Qwen/Qwen3-0.6B", "v2")
    assert download_name("Qwen/Qwen3-0.6B", "main") != download_name("qwen/qwen3-0-6b", "main")
