"""Operator flows through kubectl: describe, drain (eviction), auth can-i, strict field validation, CRs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kubesim.helpers import deployment
from kubesim.test_kubectl_basics import kubectl

pytestmark = pytest.mark.kubectl


def test_describe_pod_shows_events(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    ns = ("-n", namespace)
    manifest = tmp_path / "d.yaml"
    manifest.write_text(yaml.safe_dump(deployment("desc", replicas=1)))
    kubectl(kubectl_env, "apply", "-f", str(manifest), *ns)
    kubectl(kubectl_env, "rollout", "status", "deploy/desc", *ns, "--timeout=60s")
    pod = kubectl(kubectl_env, "get", "pods", "-l", "app=desc", "-o", "name", *ns).stdout.strip()
    described = kubectl(kubectl_env, "describe", pod, *ns).stdout
    assert "Status:           Running" in described
    assert "Controlled By:  ReplicaSet/desc-" in described
    assert "Successfully assigned" in described


def test_drain_evicts_and_cordons(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    ns = ("-n", namespace)
    manifest = tmp_path / "d.yaml"
    body = deployment("drainme", replicas=1)
    manifest.write_text(yaml.safe_dump(body))
    kubectl(kubectl_env, "apply", "-f", str(manifest), *ns)
    kubectl(kubectl_env, "rollout", "status", "deploy/drainme", *ns, "--timeout=60s")
    pod = json.loads(kubectl(kubectl_env, "get", "pods", "-l", "app=drainme", "-o", "json", *ns).stdout)[
        "items"
    ][0]
    node = pod["spec"]["nodeName"]
    try:
        out = kubectl(
            kubectl_env, "drain", node, "--ignore-daemonsets", "--timeout=60s", "--pod-selector=app=drainme"
        )
        assert f"pod/{pod['metadata']['name']} evicted" in out.stdout
        assert f"node/{node} drained" in out.stdout
        got = json.loads(kubectl(kubectl_env, "get", "node", node, "-o", "json").stdout)
        assert got["spec"]["unschedulable"] is True
    finally:
        kubectl(kubectl_env, "uncordon", node)


def test_auth_can_i(kubectl_env: dict[str, str]) -> None:
    assert kubectl(kubectl_env, "auth", "can-i", "delete", "deployments").stdout.strip() == "yes"


def test_strict_field_validation_error(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "typo.yaml"
    body = deployment("typo", replicas=0)
    body["spec"]["replica"] = 2
    manifest.write_text(yaml.safe_dump(body))
    result = kubectl(kubectl_env, "apply", "-f", str(manifest), "-n", namespace, check=False)
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.replica"' in result.stderr
    warned = kubectl(kubectl_env, "apply", "-f", str(manifest), "-n", namespace, "--validate=warn")
    assert 'unknown field "spec.replica"' in warned.stderr


def test_custom_resources_with_kubectl(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "ptj"},
        "spec": {"pytorchReplicaSpecs": {}},
    }
    manifest = tmp_path / "ptj.yaml"
    manifest.write_text(yaml.safe_dump(job))
    assert (
        "pytorchjob.kubeflow.org/ptj created"
        in kubectl(kubectl_env, "apply", "-f", str(manifest), "-n", namespace).stdout
    )
    job["metadata"]["labels"] = {"team": "ml"}
    manifest.write_text(yaml.safe_dump(job))
    assert "configured" in kubectl(kubectl_env, "apply", "-f", str(manifest), "-n", namespace).stdout
    names = kubectl(kubectl_env, "get", "pytorchjobs", "-l", "team=ml", "-o", "name", "-n", namespace).stdout
    assert names.strip() == "pytorchjob.kubeflow.org/ptj"
    crds = kubectl(kubectl_env, "get", "crd", "-o", "name").stdout.split()
    assert "customresourcedefinition.apiextensions.k8s.io/pytorchjobs.kubeflow.org" in crds


def test_apply_a_list(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    # kubectl validates a `kind: List` client-side against /openapi/v2, then applies each item.
    manifest = tmp_path / "list.yaml"
    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}, "data": {"k": n}} for n in "ab"
    ]
    items.append(deployment("listed"))
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    ns = ("-n", namespace)
    out = kubectl(kubectl_env, "apply", "-f", str(manifest), *ns).stdout
    assert out.split("\n")[:3] == [
        "configmap/a created",
        "configmap/b created",
        "deployment.apps/listed created",
    ]
    assert "configmap/a unchanged" in kubectl(kubectl_env, "apply", "-f", str(manifest), *ns).stdout
    names = kubectl(kubectl_env, "get", "configmap,deployment", "-o", "name", *ns).stdout.split()
    assert {"configmap/a", "configmap/b", "deployment.apps/listed"} <= set(names)
