"""Golden tests: each engine's pasted command line → the exact Deployment and Service Podium sends.

Regenerate after an intended change with `PODIUM_UPDATE_GOLDEN=1 pytest tests/shared/serving`, then review
the JSON diff like code."""

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from podium_shared.serving import labels as L
from podium_shared.serving.manifests import (
    build_business_service,
    build_deployment,
    build_secret,
    build_service,
)
from podium_shared.serving.schemas import DeployModelParams
from podium_shared.serving.spec import resolve

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "vllm_serve": {
        "command_line": "vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size 2 --max-model-len 8192"
    },
    "vllm_api_server": {
        "command_line": "python -m vllm.entrypoints.openai.api_server --model=Qwen/Qwen3-0.6B "
        "--gpu-memory-utilization 0.9 --enable-prefix-caching",
        "replicas": 2,
        "scheme": "internet-facing",
        "instance_type": "ml.g5.12xlarge",
    },
    "sglang": {
        "command_line": "python -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct --tp 2",
        "namespace": "inference",
    },
    "ollama": {"command_line": "ollama run llama3"},
    "vllm_pool_fields": {
        "engine": "vllm",
        "model": "Qwen/Qwen3-0.6B",
        "gpus_per_replica": 1,
        "replicas": 4,
        "pool": True,
        "node_group": "gpu-workers",
    },
}


def render(case: dict[str, Any], *, token: bool) -> dict[str, Any]:
    spec = resolve(DeployModelParams.model_validate(case), has_token=token)
    out: dict[str, Any] = {"deployment": build_deployment(spec)}
    if not spec.pool:
        out["service"] = build_service(spec)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_command_line_to_manifest_matches_golden(name: str) -> None:
    got = render(CASES[name], token=name != "ollama")
    path = GOLDEN / f"{name}.json"
    if os.environ.get("PODIUM_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())


def test_pool_contract() -> None:
    dep = render(CASES["vllm_pool_fields"], token=False)["deployment"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert pod_labels[L.BUSINESS] == L.UNASSIGNED
    assert pod_labels[L.DEPLOYMENT_TYPE] == L.MODEL_POOL
    assert pod_labels[L.MODEL] == dep["metadata"]["labels"][L.MODEL]
    assert pod_labels[L.APP_MANAGED_BY] == "podium"
    # the selector must not pin `business`, or relabelled pods would be orphaned and replaced
    assert L.BUSINESS not in dep["spec"]["selector"]["matchLabels"]
    assert dep["metadata"]["annotations"][L.MODEL_ID_ANNOTATION] == "Qwen/Qwen3-0.6B"


def test_token_is_only_a_reference_in_the_deployment() -> None:
    case = {**CASES["vllm_serve"], "hf_token": "hf_SECRETSECRET"}
    rendered = render(case, token=True)
    assert "hf_SECRETSECRET" not in json.dumps(rendered)
    env = rendered["deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"] for e in env} == {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}
    assert all(e["valueFrom"]["secretKeyRef"]["key"] == "token" for e in env)
    secret = build_secret(name="s", namespace="default", deployment="d", token="hf_SECRETSECRET")
    assert base64.b64decode(secret["data"]["token"]).decode() == "hf_SECRETSECRET"


def test_hostile_extra_args_are_separate_inert_argv_items() -> None:
    case = {
        "engine": "vllm",
        "model": "a/b",
        "extra_args": ["--chat-template", "{{ x }} $(id) `id`; rm -rf / key: value"],
    }
    args = render(case, token=False)["deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    # `$(VAR)` would be expanded by the kubelet (e.g. `$(HF_TOKEN)` into the token): `$$` keeps it literal.
    assert args[-2:] == ["--chat-template", "{{ x }} $$(id) `id`; rm -rf / key: value"]


def test_an_extra_arg_cannot_read_the_token_through_variable_expansion() -> None:
    case = {"engine": "sglang", "model": "a/b", "extra_args": ["--api-key", "$(HF_TOKEN)"]}
    args = render(case, token=True)["deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-2:] == ["--api-key", "$$(HF_TOKEN)"]


def test_business_service_selects_model_and_business_only() -> None:
    svc = build_business_service(
        namespace="ns", pool="vllm-x", model_tag="x-abc123", model_id="X", business="prod", scheme="internal"
    )
    assert svc["spec"]["selector"] == {L.MODEL: "x-abc123", L.BUSINESS: "prod"}
    assert svc["metadata"]["labels"][L.SERVICE_TYPE] == L.BUSINESS_SERVICE
    assert svc["metadata"]["annotations"][L.NLB_SCHEME] == "internal"
    assert svc["metadata"]["annotations"][L.NLB_TYPE] == "external"
    assert svc["metadata"]["annotations"][L.NLB_TARGET_TYPE] == "ip"
    assert svc["metadata"]["name"] == "vllm-x-prod"
