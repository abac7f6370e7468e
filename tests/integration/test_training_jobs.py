"""Training jobs end to end: API → operation → worker → kubesim, read back through the job page (from the
watcher's snapshot). Both job types reach Running then Succeeded with exactly the golden manifests; a job
kubesim fails ends Failed with its reason on the page; hostile strings are refused or stay inert argv;
the GPU pre-check refuses what can never fit and warns when it will queue; delete leaves nothing behind."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes import client as k8s
from podium_shared.auth.service import create_user
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import OperationStatus
from podium_shared.models.user import Role
from support.training_golden import CASES, check_golden, normalise, shape
from support.waiting import wait_until
from worker.fixtures import Pipeline

from integration.serving_helpers import *  # noqa: F403  (serving_api, watcher)
from integration.serving_helpers import ServingApi, succeeded
from integration.training_helpers import *  # noqa: F403  (worker with MLflow settings)
from integration.training_helpers import describe, wait_phase

pytestmark = pytest.mark.usefixtures("worker", "watcher")

API = {
    "pytorchjob": ("kubeflow.org", "pytorchjobs"),
    "hyperpod": ("sagemaker.amazonaws.com", "hyperpodpytorchjobs"),
}


def _job(kube: k8s.ApiClient, namespace: str, job_type: str, name: str) -> dict[str, Any]:
    group, plural = API[job_type]
    obj: dict[str, Any] = k8s.CustomObjectsApi(kube).get_namespaced_custom_object(
        group, "v1", namespace, plural, name
    )
    return obj


def test_both_job_types_run_to_success_with_the_golden_manifests(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    accepted = {}
    for case, params in CASES.items():
        r = serving_api.command("submit_training_job", sim_cluster, {**params, "namespace": namespace})
        assert r.status_code == 202, r.text
        accepted[case] = r.json()
    seen_running: set[str] = set()

    def all_succeeded() -> bool:
        done = True
        for params in CASES.values():
            job = describe(serving_api, sim_cluster, namespace, params["name"])
            phase = job["status"]["phase"] if job else None
            if phase == "Running":
                seen_running.add(params["name"])
            done = done and phase == "Succeeded"
        return done

    # Watched from the moment they are submitted: each must be seen Running, then Succeeded.
    wait_until(all_succeeded, 120, "every training job to succeed", interval=0.05)
    assert seen_running == {p["name"] for p in CASES.values()}
    for case, op in accepted.items():
        done = succeeded(pipeline, op["id"])
        params = CASES[case]
        assert done.result["uid"]
        job = _job(kube, namespace, params["type"], params["name"])
        assert done.result["uid"] == job["metadata"]["uid"]
        check_golden(case, normalise(shape(job), namespace=namespace, operation_id=str(op["id"])))

    page = describe(serving_api, sim_cluster, namespace, "sft-pt")
    assert page is not None
    assert (page["type"], page["kind"], page["managed_by_podium"]) == ("pytorchjob", "PyTorchJob", True)
    assert page["settings"]["llamafactory"]["model"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert [(p["role"], p["phase"]) for p in page["pods"]] == [
        ("master", "Succeeded"),
        ("worker", "Succeeded"),
    ]
    assert all(p["node"] and p["restarts"] == 0 for p in page["pods"])
    assert page["start"]
    assert page["end"]
    assert page["duration_seconds"] >= 0
    assert {"Succeeded"} <= {c["type"] for c in page["conditions"] if c["status"] == "True"}
    assert any(e["reason"] == "SuccessfulCreatePod" for e in page["events"])
    assert page["failure"] is None
    assert "latest_metrics" in page

    hp = describe(serving_api, sim_cluster, namespace, "sft-hp")
    assert hp is not None
    assert hp["type"] == "hyperpod"
    assert [p["name"] for p in hp["pods"]] == ["sft-hp-pods-0", "sft-hp-pods-1"]
    # kubesim's training pods ran what was submitted: --max_steps 12, --logging_steps 2 → 6 loss lines.
    log = k8s.CoreV1Api(kube).read_namespaced_pod_log("sft-pt-master-0", namespace)
    assert len([ln for ln in log.splitlines() if ln.startswith("{'loss'")]) == 6


def test_a_failing_job_ends_failed_with_its_reason(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, namespace: str
) -> None:
    reason = "CUDA out of memory. Tried to allocate 2.00 GiB"
    params = {**CASES["pytorchjob_llamafactory"], "name": "oom", "namespace": namespace,
              "env": {"KUBESIM_FAIL_REASON": reason, "KUBESIM_FAIL_AT_STEP": "3"}}  # fmt: skip
    r = serving_api.command("submit_training_job", sim_cluster, params)
    assert r.status_code == 202, r.text
    succeeded(pipeline, r.json()["id"])  # the operation submitted the job; the job's fate is its own
    page = wait_phase(serving_api, sim_cluster, namespace, "oom", "Failed")
    assert page["failure"]["reason"] == "PyTorchJobFailed"
    assert "replica(s) failed" in page["failure"]["message"]
    assert {p["message"] for p in page["failure"]["pods"]} == {reason}
    assert all(p["exit_code"] == 1 for p in page["failure"]["pods"])
    assert page["end"] is not None

    # Viewers read the page of namespaces they may see, nothing else, and cannot submit.
    path = f"/api/v1/clusters/{sim_cluster}/trainingjobs/{namespace}/oom"
    with unit_of_work(pipeline.sessions) as session:
        _u, own = create_user(session, f"v-{uuid.uuid4().hex[:8]}", Role.viewer, [namespace])
        _u, other = create_user(session, f"v-{uuid.uuid4().hex[:8]}", Role.viewer, ["elsewhere"])
    client = serving_api.client
    assert client.get(path, headers={"Authorization": f"Bearer {own}"}).status_code == 200
    assert client.get(path, headers={"Authorization": f"Bearer {other}"}).status_code == 403
    r = client.post("/api/v1/commands", headers={"Authorization": f"Bearer {own}"},
                    json={"kind": "delete_training_job", "cluster": sim_cluster,
                          "params": {"namespace": namespace, "name": "oom"}})  # fmt: skip
    assert r.status_code == 403, r.text


HOSTILE = ["python", "-c", "import os; os.system('rm -rf /')", "$(HF_TOKEN)", "`id`", "'; DROP TABLE x;--",
           "{{ .Values.secret }}", "key: [1, 2]\n"[:-1], "--- kind: Secret", "a b c", "$$(x)"]  # fmt: skip


def test_hostile_argument_strings_stay_inert_argv(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    env = {"EXTRA": "$(HF_TOKEN) `id` {{x}}"}
    r = serving_api.command(
        "submit_training_job", sim_cluster,
        {"namespace": namespace, "name": "hostile", "command": HOSTILE, "env": env, "hf_token": "hf_secret"},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    succeeded(pipeline, r.json()["id"])
    job = _job(kube, namespace, "pytorchjob", "hostile")
    container = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    # Each string is one argv element, with `$` doubled so Kubernetes' $(VAR) expansion leaves it alone:
    # `$(HF_TOKEN)` reaches the program as those ten characters, not as the token.
    assert container["command"] == [a.replace("$", "$$") for a in HOSTILE]
    assert "args" not in container
    extra = next(e for e in container["env"] if e["name"] == "EXTRA")
    assert extra["value"] == "$$(HF_TOKEN) `id` {{x}}"
    assert "hf_secret" not in json.dumps(job)


@pytest.mark.parametrize(
    "params",
    [
        {"llamafactory": {"model": "Qwen/x; rm -rf /", "dataset": "a"}},
        {"llamafactory": {"model": "a/b", "dataset": "$(curl evil)"}},
        {"llamafactory": {"model": "a/b", "dataset": "a", "template": "x\ny"}},
        {"command": ["python", "line\nbreak"]},
        {"command": ["x"], "env": {"MLFLOW_TRACKING_URI": "http://evil"}},
        {"command": ["x"], "name": "x; rm"},
        {"command": ["x"], "namespace": "default\nmetadata: {}"},
    ],
    ids=range(7),
)
def test_hostile_names_are_refused_with_422(
    serving_api: ServingApi, sim_cluster: str, params: dict[str, Any]
) -> None:
    r = serving_api.command("submit_training_job", sim_cluster, {"name": "h", **params})
    assert r.status_code == 422, r.text


def test_gpu_precheck_refuses_what_never_fits_and_warns_when_it_will_queue(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    wait_until(lambda: describe_status(serving_api, sim_cluster), 30, "the watcher's snapshot of the nodes")
    base = {"namespace": namespace, "command": ["python", "train.py"]}
    r = serving_api.command(
        "submit_training_job", sim_cluster, {**base, "name": "huge", "procs_per_node": 16}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "does_not_fit"
    assert r.json()["details"] == {"gpus_per_replica": 16, "largest_node_gpus": 8}
    on_g5 = {**base, "name": "on-g5", "procs_per_node": 8, "instance_type": "ml.g5.12xlarge"}
    r = serving_api.command("submit_training_job", sim_cluster, on_g5)
    assert r.status_code == 422
    assert r.json()["details"]["largest_node_gpus"] == 4

    wide = {**base, "name": "wide", "procs_per_node": 4, "replicas": 8}
    r = serving_api.command("submit_training_job", sim_cluster, wide)
    assert r.status_code == 202, r.text
    [warning] = r.json()["result"]["accept_warnings"]
    assert "of 8 replicas fit" in warning
    done = succeeded(pipeline, r.json()["id"])
    assert done.result["warnings"]  # the worker's own check on the live cluster agrees
    r = serving_api.command("delete_training_job", sim_cluster, {"namespace": namespace, "name": "wide"})
    succeeded(pipeline, r.json()["id"])


def describe_status(api: ServingApi, cluster: str) -> bool:
    r = api.client.get(f"/api/v1/clusters/{cluster}/status", headers=api.headers)
    return r.status_code == 200 and r.json()["totals"]["gpu_allocatable"] >= 16


def test_delete_leaves_nothing_behind(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    params = {**CASES["hyperpod_llamafactory"], "name": "gone", "namespace": namespace,
              "hf_token": f"hf_{uuid.uuid4().hex}", "env": {"KUBESIM_STEP_SECONDS": "60"}}  # fmt: skip
    r = serving_api.command("submit_training_job", sim_cluster, params)
    assert r.status_code == 202, r.text
    done = succeeded(pipeline, r.json()["id"])
    core = k8s.CoreV1Api(kube)
    secret = core.read_namespaced_secret("gone-hf-token", namespace)
    assert [o.uid for o in secret.metadata.owner_references] == [done.result["uid"]]
    wait_phase(serving_api, sim_cluster, namespace, "gone", "Running")

    r = serving_api.command("delete_training_job", sim_cluster, {"namespace": namespace, "name": "gone"})
    assert r.status_code == 202, r.text
    deleted = succeeded(pipeline, r.json()["id"])
    assert deleted.result["deleted"] == {"job": ["HyperPodPyTorchJob"], "secret": ["gone-hf-token"]}
    assert deleted.result["uid"] == done.result["uid"]

    def nothing_left() -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector="podium.dev/training-job=gone").items
        secrets = [s.metadata.name for s in core.list_namespaced_secret(namespace).items]
        services = [s.metadata.name for s in core.list_namespaced_service(namespace).items]
        jobs = k8s.CustomObjectsApi(kube).list_namespaced_custom_object(
            "sagemaker.amazonaws.com", "v1", namespace, "hyperpodpytorchjobs"
        )["items"]
        return not pods and "gone-hf-token" not in secrets and not services and not jobs

    wait_until(nothing_left, 30, "the job, its pods and its Secret to be gone")
    wait_until(lambda: describe(serving_api, sim_cluster, namespace, "gone") is None, 10, "the page to 404")
    # Deleting again is not an error: the operation converges on "absent".
    r = serving_api.command("delete_training_job", sim_cluster, {"namespace": namespace, "name": "gone"})
    again = succeeded(pipeline, r.json()["id"])
    assert again.result["deleted"] == {"job": [], "secret": []}


def test_a_missing_namespace_fails_with_a_sentence(
    *, pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str
) -> None:
    params = {"namespace": f"nope-{uuid.uuid4().hex[:6]}", "name": "lost", "command": ["python", "train.py"]}
    r = serving_api.command("submit_training_job", sim_cluster, params)
    assert r.status_code == 202, r.text
    done = pipeline.wait_finished(r.json()["id"], timeout=60)
    assert done.status == OperationStatus.failed
    assert done.error is not None
    assert done.error["code"] == "cannot_create"
    assert f'namespace "{params["namespace"]}" does not exist' in done.error["message"]
    assert done.attempts == 1  # permanent: not retried
