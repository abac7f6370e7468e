"""Jobs, PyTorchJobs and HyperPodPyTorchJobs through the official client: pods, completion, training logs."""

from __future__ import annotations

import ast
from typing import Any

import pytest
from kubernetes import client
from podium_kubesim.runner import RunningKubeSim
from podium_kubesim.training import TrainingRun, progress_bar

from kubesim.helpers import wait_for, watch_until

SPEED = 50


@pytest.fixture
def api(small_cluster: tuple[RunningKubeSim, client.ApiClient]) -> client.ApiClient:
    return small_cluster[1]


def container(**extra: Any) -> dict[str, Any]:
    return {
        "name": "pytorch",
        "image": "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.3.0",
        "command": ["llamafactory-cli", "train", "qwen_lora_sft.yaml"],
        **extra,
    }


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next(
        (
            c
            for c in obj.get("status", {}).get("conditions", [])
            if c["type"] == ctype and c["status"] == "True"
        ),
        None,
    )


def _wait_for_condition(batch: client.BatchV1Api, name: str, ns: str, ctype: str) -> Any:
    """The Job once its `ctype` condition (Complete, Failed) is True."""

    def reached() -> Any:
        job = batch.read_namespaced_job(name, ns)
        return (
            job if any(c.type == ctype and c.status == "True" for c in job.status.conditions or []) else None
        )

    return wait_for(reached, what=f"job {name} {ctype}")


def test_batch_job_completes(api: client.ApiClient, ns: str) -> None:
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    batch.create_namespaced_job(
        ns,
        {
            "metadata": {"name": "download"},
            "spec": {
                "completions": 2,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {"name": "dl", "image": "python:3.11", "command": ["sh", "-c", "echo downloaded"]}
                        ],
                    }
                },
            },
        },
    )

    job = _wait_for_condition(batch, "download", ns, "Complete")
    assert job.status.succeeded == 2
    assert not job.status.active
    assert job.status.completion_time is not None
    assert job.status.start_time is not None
    pods = core.list_namespaced_pod(ns, label_selector="job-name=download").items
    assert len(pods) == 2
    for p in pods:
        assert p.metadata.labels["batch.kubernetes.io/controller-uid"] == job.metadata.uid
        assert p.metadata.owner_references[0].kind == "Job"
        assert p.status.phase == "Succeeded"
        assert "downloaded" in core.read_namespaced_pod_log(p.metadata.name, ns)
    reasons = [
        e.reason for e in core.list_namespaced_event(ns, field_selector="involvedObject.name=download").items
    ]
    assert "Completed" in reasons
    assert reasons.count("SuccessfulCreate") == 2


SCRIPT = (
    "pip install -q huggingface_hub && "
    "huggingface-cli download Qwen/Qwen3-0.6B --local-dir /s3/models/Qwen/Qwen3-0.6B"
)


def test_model_download_job_logs_progress(api: client.ApiClient, ns: str) -> None:
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    batch.create_namespaced_job(
        ns,
        {
            "metadata": {"name": "dl"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "hf",
                                "image": "python:3.11-slim",
                                "command": ["sh", "-c"],
                                "args": [SCRIPT],
                            }
                        ],
                    }
                }
            },
        },
    )

    def complete() -> Any:
        job = batch.read_namespaced_job("dl", ns)
        return job if job.status.succeeded == 1 else None

    wait_for(complete, what="download job complete")
    (pod,) = core.list_namespaced_pod(ns, label_selector="job-name=dl").items
    lines = core.read_namespaced_pod_log(pod.metadata.name, ns).splitlines()
    assert lines[0] == "Downloading 'Qwen/Qwen3-0.6B' to '/s3/models/Qwen/Qwen3-0.6B'"
    assert any(line.startswith("Fetching 10 files:  50%|") for line in lines)
    assert lines[-1] == "/s3/models/Qwen/Qwen3-0.6B"


def test_batch_job_fails_after_backoff_limit(api: client.ApiClient, ns: str) -> None:
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job(
        ns,
        {
            "metadata": {"name": "doomed"},
            "spec": {
                "backoffLimit": 1,
                "template": {
                    "metadata": {"annotations": {"kubesim.podium.dev/fail": "true"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        },
    )

    job = _wait_for_condition(batch, "doomed", ns, "Failed")
    assert job.status.failed == 2
    cond = next(c for c in job.status.conditions if c.type == "Failed")
    assert cond.reason == "BackoffLimitExceeded"


def test_pytorchjob_runs_master_and_workers_and_logs_training(api: client.ApiClient, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    template = {
        "metadata": {"annotations": {"kubesim.podium.dev/train-steps": "12"}},
        "spec": {"containers": [container(env=[{"name": "LEARNING_RATE", "value": "0.0001"}])]},
    }
    created = custom.create_namespaced_custom_object(
        "kubeflow.org",
        "v1",
        ns,
        "pytorchjobs",
        {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "metadata": {"name": "sft"},
            "spec": {
                "pytorchReplicaSpecs": {
                    "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template},
                    "Worker": {"replicas": 2, "restartPolicy": "OnFailure", "template": template},
                }
            },
        },
    )

    def get() -> dict[str, Any]:
        return custom.get_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", "sft")  # type: ignore[no-any-return]

    # Running lasts only a few real milliseconds at this speed: watch every state rather than poll for it.
    states = [
        ev["object"]
        for ev in watch_until(
            custom.list_namespaced_custom_object,
            "kubeflow.org",
            "v1",
            ns,
            "pytorchjobs",
            field_selector="metadata.name=sft",
            resource_version=created["metadata"]["resourceVersion"],
            until=lambda ev: condition(ev["object"], "Succeeded") is not None,
        )
    ]
    assert any(condition(s, "Running") for s in states), "the job was never Running"
    pods = {
        p.metadata.name: p
        for p in core.list_namespaced_pod(ns, label_selector="training.kubeflow.org/job-name=sft").items
    }
    assert set(pods) == {"sft-master-0", "sft-worker-0", "sft-worker-1"}
    assert pods["sft-worker-1"].metadata.labels["training.kubeflow.org/replica-type"] == "worker"
    assert pods["sft-worker-1"].metadata.labels["training.kubeflow.org/replica-index"] == "1"
    env = {e.name: e.value for e in pods["sft-worker-1"].spec.containers[0].env}
    assert (env["MASTER_ADDR"], env["WORLD_SIZE"], env["RANK"]) == ("sft-master-0", "3", "2")
    assert core.read_namespaced_service("sft-master-0", ns).spec.cluster_ip == "None"

    # The master's success decides the job; the workers finish their last step just after it.
    job = wait_for(
        lambda: (j := get())["status"]["replicaStatuses"]["Worker"].get("succeeded") == 2 and j,
        what="workers succeeded",
    )
    running = next(c for c in job["status"]["conditions"] if c["type"] == "Running")
    assert running["status"] == "False"
    assert job["status"]["replicaStatuses"]["Master"]["succeeded"] == 1
    assert job["status"]["replicaStatuses"]["Worker"]["succeeded"] == 2
    assert job["status"]["completionTime"]
    logs = core.read_namespaced_pod_log("sft-master-0", ns).splitlines()
    records = [ast.literal_eval(line) for line in logs if line.startswith("{'loss'")]
    assert len(records) >= 5
    assert records[-1]["loss"] < records[0]["loss"]  # the loss falls
    assert records[0]["learning_rate"] <= 0.0001
    assert any("12/12 [" in line for line in logs)
    summary = ast.literal_eval(next(line for line in logs if line.startswith("{'train_runtime'")))
    assert set(summary) >= {
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "train_loss",
    }
    # Workers do not repeat the metrics (Trainer logs on the main process only).
    assert "{'loss'" not in core.read_namespaced_pod_log("sft-worker-0", ns)


def test_pytorchjob_failure(api: client.ApiClient, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    template = {
        "metadata": {
            "annotations": {"kubesim.podium.dev/train-steps": "3", "kubesim.podium.dev/fail": "true"}
        },
        "spec": {"containers": [container()]},
    }
    custom.create_namespaced_custom_object(
        "kubeflow.org",
        "v1",
        ns,
        "pytorchjobs",
        {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "metadata": {"name": "bad"},
            "spec": {
                "pytorchReplicaSpecs": {
                    "Master": {"replicas": 1, "restartPolicy": "Never", "template": template}
                }
            },
        },
    )
    job = wait_for(
        lambda: (
            condition(
                g := custom.get_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", "bad"),
                "Failed",
            )
            and g
        ),
        what="PyTorchJob failed",
    )
    assert job["status"]["replicaStatuses"]["Master"]["failed"] == 1


def test_hyperpod_pytorchjob_completes(api: client.ApiClient, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    custom.create_namespaced_custom_object(
        "sagemaker.amazonaws.com",
        "v1",
        ns,
        "hyperpodpytorchjobs",
        {
            "apiVersion": "sagemaker.amazonaws.com/v1",
            "kind": "HyperPodPyTorchJob",
            "metadata": {"name": "hp"},
            "spec": {
                "nprocPerNode": "8",
                "runPolicy": {"jobMaxRetryCount": 0},
                "replicaSpecs": [
                    {
                        "name": "pods",
                        "replicas": 2,
                        "template": {
                            "metadata": {"annotations": {"kubesim.podium.dev/train-steps": "6"}},
                            "spec": {
                                "containers": [container(resources={"limits": {"nvidia.com/gpu": "1"}})]
                            },
                        },
                    }
                ],
            },
        },
    )

    def get() -> dict[str, Any]:
        return custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            "sagemaker.amazonaws.com", "v1", ns, "hyperpodpytorchjobs", "hp"
        )

    job = wait_for(lambda: condition(get(), "Completed") and get(), what="HyperPod job completed")
    assert condition(job, "Created")
    assert job["status"]["replicaStatuses"]["pods"]["succeeded"] == 2
    pods = core.list_namespaced_pod(ns, label_selector="sagemaker.amazonaws.com/job-name=hp").items
    assert sorted(p.metadata.name for p in pods) == ["hp-pods-0", "hp-pods-1"]
    env = {e.name: e.value for e in pods[0].spec.containers[0].env}
    assert env["PET_NPROC_PER_NODE"] == "8"
    assert "'train_samples_per_second'" in core.read_namespaced_pod_log("hp-pods-0", ns)


def test_training_lines_shapes() -> None:
    run = TrainingRun(steps=200, seed="x", learning_rate=5e-05)
    assert progress_bar(10, 200, 5.26) == "  5%|▌         | 10/200 [00:05<01:39,  1.90it/s]"
    lines = [line for step in range(1, 201) for line in run.step_lines(step, step * 0.5)]
    records = [ast.literal_eval(line) for line in lines if line.startswith("{")]
    assert len(records) == 10
    assert list(records[0]) == ["loss", "grad_norm", "learning_rate", "epoch"]
    assert records[-1]["epoch"] == 3.0
    assert all(0.5 < r["loss"] < 3.0 for r in records)
    assert records[-1]["loss"] < records[0]["loss"] - 0.5
    summary = ast.literal_eval(next(line for line in run.summary(100.0) if line.startswith("{")))
    assert summary["train_steps_per_second"] == 2.0
    assert summary["epoch"] == 3.0


def test_training_pod_runs_the_submitted_settings_and_fails_with_its_reason(
    api: client.ApiClient, ns: str
) -> None:
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    args = ["--max_steps", "4", "--logging_steps", "1", "--num_train_epochs", "2.0",
            "--per_device_train_batch_size", "8", "--learning_rate", "0.0002"]  # fmt: skip
    ok = container(command=["torchrun", "/app/src/llamafactory/launcher.py"], args=args)
    failing = container(
        command=["torchrun", "/app/src/llamafactory/launcher.py"],
        args=args,
        env=[
            {"name": "KUBESIM_FAIL_REASON", "value": "CUDA out of memory. Tried to allocate 2.00 GiB"},
            {"name": "KUBESIM_FAIL_AT_STEP", "value": "2"},
        ],
    )
    for name, c in (("good", ok), ("oom", failing)):
        custom.create_namespaced_custom_object(
            "kubeflow.org", "v1", ns, "pytorchjobs",
            {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": name},
             "spec": {"pytorchReplicaSpecs": {"Master": {"replicas": 1, "restartPolicy": "Never",
                                                         "template": {"spec": {"containers": [c]}}}}}},
        )  # fmt: skip

    def get(name: str) -> dict[str, Any]:
        return custom.get_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", name)  # type: ignore[no-any-return]

    wait_for(lambda: condition(get("good"), "Succeeded"), what="good job succeeded")
    log = core.read_namespaced_pod_log("good-master-0", ns)
    records = [ast.literal_eval(line) for line in log.splitlines() if line.startswith("{'loss'")]
    assert len(records) == 4  # --max_steps 4, --logging_steps 1
    assert records[-1]["epoch"] == 2.0
    assert "Instantaneous batch size per device = 8" in log

    failed = wait_for(lambda: condition(get("oom"), "Failed"), what="oom job failed")
    assert "1 Master replica(s) failed" in failed["message"]
    pod = core.read_namespaced_pod("oom-master-0", ns)
    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.exit_code) == ("Failed", 1)
    assert terminated.message == "CUDA out of memory. Tried to allocate 2.00 GiB"
    log = core.read_namespaced_pod_log("oom-master-0", ns)
    assert "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB" in log
    assert len([line for line in log.splitlines() if line.startswith("{'loss'")]) == 2
    assert "train_runtime" not in log
