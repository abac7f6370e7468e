"""The golden training-job cases, shared by the manifest unit test (tests/shared/training) and the
end-to-end test that submits them to kubesim (tests/integration/test_training_jobs.py): both compare what
they built or found in the cluster with the same JSON file, after replacing the parts that differ per run
(namespace, operation id) with placeholders.

Regenerate after an intended change with `PODIUM_UPDATE_GOLDEN=1 pytest tests/shared/training`, then
review the JSON diff like code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent.parent / "shared" / "training" / "golden"
MLFLOW_URI = "http://mlflow.mlflow.svc:5000"
DEFAULT_IMAGE = "hiyouga/llamafactory:0.9.3"
MODELS_PVC = "s3-claim"

# kubesim pacing through the environment, so a job stays Running long enough to be seen on a loaded
# machine (6 simulated s a step at the tests' speed 20 = 0.3 s).
_PACE = {"KUBESIM_STEP_SECONDS": "6"}

CASES: dict[str, dict[str, Any]] = {
    "pytorchjob_llamafactory": {
        "name": "sft-pt",
        "type": "pytorchjob",
        "llamafactory": {
            "model": "Qwen/Qwen2.5-0.5B-Instruct",
            "dataset": "alpaca_en_demo,identity",
            "template": "qwen",
            "batch_size": 2,
            "gradient_accumulation_steps": 4,
            "learning_rate": 5e-05,
            "epochs": 2.0,
            "cutoff_len": 1024,
            "deepspeed": "z3",
            "max_steps": 12,
            "logging_steps": 2,
        },
        "instance_type": "ml.g5.12xlarge",
        "replicas": 2,
        "procs_per_node": 2,
        "env": _PACE,
        "mlflow_experiment": "qwen-sft",
        "mlflow_run_name": "run $(whoami) 1",
    },
    "hyperpod_llamafactory": {
        "name": "sft-hp",
        "type": "hyperpod",
        "llamafactory": {
            "model": "Qwen/Qwen2.5-0.5B-Instruct",
            "dataset": "alpaca_en_demo",
            "template": "qwen",
            "stage": "sft",
            "finetuning_type": "full",
            "deepspeed": "z3-offload",
            "output_dir": "/models/outputs/qwen-full",
            "max_steps": 10,
        },
        "replicas": 2,
        "procs_per_node": 1,
        "env": _PACE,
        "mlflow_experiment": "qwen-full",
    },
    "pytorchjob_command": {
        "name": "custom",
        "type": "pytorchjob",
        "image": "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.3.0",
        "command": ["torchrun", "--nproc_per_node=1", "train.py", "--epochs", "1"],
        "env": {**_PACE, "KUBESIM_TRAIN_STEPS": "8"},
    },
}


def normalise(obj: Any, *, namespace: str, operation_id: str) -> Any:
    """`obj` with this run's namespace and operation id replaced by placeholders."""
    text = json.dumps(obj, sort_keys=True)
    text = text.replace(operation_id, "<operation-id>").replace(namespace, "<namespace>")
    return json.loads(text)


def shape(job: dict[str, Any]) -> dict[str, Any]:
    """What Podium sends and the golden file holds (the server adds uid, timestamps, status …)."""
    meta = job["metadata"]
    return {
        "apiVersion": job["apiVersion"],
        "kind": job["kind"],
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": meta.get("labels") or {},
            "annotations": meta.get("annotations") or {},
        },
        "spec": job["spec"],
    }


def check_golden(name: str, actual: Any) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("PODIUM_UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    expected = json.loads(path.read_text())
    assert actual == expected, f"{name}: differs from {path} (PODIUM_UPDATE_GOLDEN=1 regenerates it)"
