"""Patches (merge, JSON, strategic) and server-side apply with field managers, conflicts and force."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import configmap, deployment


def _patch(kubesim: RunningKubeSim, path: str, ctype: str, body: Any, **params: str) -> httpx.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return httpx.patch(kubesim.url + path, content=data, headers={"Content-Type": ctype}, params=params)


def _containers(apps: client.AppsV1Api, namespace: str, name: str) -> list[Any]:
    return apps.read_namespaced_deployment(name, namespace).spec.template.spec.containers  # type: ignore[no-any-return]


def test_merge_patch_sets_and_removes(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, configmap("mp", {"a": "1", "b": "2"}))
    path = f"/api/v1/namespaces/{namespace}/configmaps/mp"
    body = {"metadata": {"labels": {"a": None, "c": "3"}}}
    assert _patch(kubesim, path, "application/merge-patch+json", body).status_code == 200
    assert core.read_namespaced_config_map("mp", namespace).metadata.labels == {"b": "2", "c": "3"}


def test_json_patch(kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("jp", data={"x": "1"}))
    path = f"/api/v1/namespaces/{namespace}/configmaps/jp"
    ops = [{"op": "replace", "path": "/data/x", "value": "2"}, {"op": "add", "path": "/data/y", "value": "3"}]
    assert _patch(kubesim, path, "application/json-patch+json", ops).status_code == 200
    assert core.read_namespaced_config_map("jp", namespace).data == {"x": "2", "y": "3"}
    failing = [{"op": "test", "path": "/data/x", "value": "nope"}]
    resp = _patch(kubesim, path, "application/json-patch+json", failing)
    assert resp.status_code == 422
    assert resp.json()["kind"] == "Status"


def test_strategic_merge_merges_containers_by_name(apps: client.AppsV1Api, namespace: str) -> None:
    body = deployment("smp", replicas=0)
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    apps.create_namespaced_deployment(namespace, body)
    apps.patch_namespaced_deployment(
        "smp",
        namespace,
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "app", "image": "nginx:1.28", "env": [{"name": "A", "value": "1"}]}
                        ]
                    }
                }
            }
        },
    )
    containers = _containers(apps, namespace, "smp")
    assert [(c.name, c.image) for c in containers] == [("app", "nginx:1.28"), ("sidecar", "busybox:1.36")]
    assert containers[0].ports[0].container_port == 80  # untouched fields of the merged item stay
    apps.patch_namespaced_deployment(
        "smp",
        namespace,
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}]}}
            }
        },
    )
    assert [e.name for e in _containers(apps, namespace, "smp")[0].env] == ["A", "B"]
    apps.patch_namespaced_deployment(
        "smp",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}},
    )
    assert [c.name for c in _containers(apps, namespace, "smp")] == ["app"]


def test_strategic_merge_replaces_lists_without_merge_key(apps: client.AppsV1Api, namespace: str) -> None:
    body = deployment("args", replicas=0)
    body["spec"]["template"]["spec"]["containers"][0]["args"] = ["--a", "--b"]
    apps.create_namespaced_deployment(namespace, body)
    apps.patch_namespaced_deployment(
        "args",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "args": ["--c"]}]}}}},
    )
    assert _containers(apps, namespace, "args")[0].args == ["--c"]


def test_patch_with_stale_resource_version_conflicts(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, configmap("prv"))
    core.patch_namespaced_config_map("prv", namespace, {"data": {"k": "1"}})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "prv",
            namespace,
            {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"k": "2"}},
        )
    assert exc.value.status == 409


def _apply(
    kubesim: RunningKubeSim, path: str, body: Any, manager: str, force: bool = False
) -> httpx.Response:
    params = {"fieldManager": manager}
    if force:
        params["force"] = "true"
    return _patch(kubesim, path, "application/apply-patch+yaml", body, **params)


def test_server_side_apply_creates_tracks_managers_and_conflicts(
    kubesim: RunningKubeSim, namespace: str, core: client.CoreV1Api
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps/ssa"
    yaml_body = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n"
        "  labels:\n    owner: alice\ndata:\n  a: '1'\n"
    )
    created = _apply(kubesim, path, yaml_body, "alice")
    assert created.status_code == 201
    entries = created.json()["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in entries] == [("alice", "Apply")]
    assert entries[0]["fieldsV1"] == {
        "f:data": {".": {}, "f:a": {}},
        "f:metadata": {"f:labels": {".": {}, "f:owner": {}}},
    }
    # Bob applies a different value for a field Alice owns: conflict, with the real message.
    bob = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "2", "b": "x"}}
    resp = _apply(kubesim, path, bob, "bob")
    assert resp.status_code == 409
    status = resp.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.a'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".data.a"}
    ]
    # Applying the same value is shared ownership, not a conflict.
    same = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ssa"},
        "data": {"a": "1", "b": "x"},
    }
    assert _apply(kubesim, path, same, "bob").status_code == 200
    # force takes the field.
    assert _apply(kubesim, path, bob, "bob", force=True).status_code == 200
    got = core.read_namespaced_config_map("ssa", namespace)
    assert got.data == {"a": "2", "b": "x"}
    owners = {e.manager: e.fields_v1 for e in got.metadata.managed_fields}
    assert "f:a" not in owners["alice"].get("f:data", {})
    # Alice stops applying her label: the field she alone owned is removed.
    _apply(kubesim, path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}}, "alice")
    assert core.read_namespaced_config_map("ssa", namespace).metadata.labels is None


def test_apply_conflicts_with_update_managers(
    kubesim: RunningKubeSim, apps: client.AppsV1Api, namespace: str
) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
    assert _apply(kubesim, path, deployment("web", replicas=0), "deployer").status_code == 201
    apps.patch_namespaced_deployment_scale(
        "web", namespace, {"spec": {"replicas": 0}}
    )  # same value: no change
    scale = httpx.patch(
        kubesim.url + path + "/scale",
        content=json.dumps({"spec": {"replicas": 2}}),
        headers={"Content-Type": "application/merge-patch+json"},
        params={"fieldManager": "autoscaler"},
    )
    assert scale.status_code == 200
    resp = _apply(kubesim, path, deployment("web", replicas=0), "deployer")
    assert resp.status_code == 409
    assert resp.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "autoscaler" with subresource "scale" using apps/v1: '
        ".spec.replicas"
    )


def test_apply_requires_field_manager(kubesim: RunningKubeSim, namespace: str) -> None:
    resp = _patch(
        kubesim,
        f"/api/v1/namespaces/{namespace}/configmaps/nofm",
        "application/apply-patch+yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nofm"}},
    )
    assert resp.status_code == 400


def test_unsupported_patch_type(kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("u"))
    resp = _patch(kubesim, f"/api/v1/namespaces/{namespace}/configmaps/u", "text/plain", "{}")
    assert resp.status_code == 415


def test_apply_removes_only_what_the_manager_alone_owned(
    kubesim: RunningKubeSim, apps: client.AppsV1Api, namespace: str
) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/two"
    body = deployment("two", replicas=0)
    body["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox:1.36"})
    assert _apply(kubesim, path, body, "owner").status_code == 201
    # Another manager takes a label; then the applier drops its sidecar and its data.
    apps.patch_namespaced_deployment("two", namespace, {"metadata": {"labels": {"extra": "yes"}}})
    assert _apply(kubesim, path, deployment("two", replicas=0), "owner").status_code == 200
    got = apps.read_namespaced_deployment("two", namespace)
    assert [c.name for c in got.spec.template.spec.containers] == ["app"]
    assert got.metadata.labels == {"app": "two", "extra": "yes"}
