"""Conformance through the official client: create, get, list (selectors, pagination), update, errors."""

from __future__ import annotations

import json

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import configmap, deployment, unscheduled_pod


def _status(exc: ApiException) -> dict:  # type: ignore[type-arg]
    return json.loads(exc.body)  # type: ignore[no-any-return]


def test_create_get_sets_server_metadata(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, configmap("one"))
    got = core.read_namespaced_config_map("one", namespace)
    assert got.metadata.uid == created.metadata.uid
    assert int(got.metadata.resource_version) > 0
    assert got.metadata.creation_timestamp is not None
    assert got.metadata.managed_fields[0].manager
    assert got.data == {"k": "v"}


def test_generate_name(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "cfg-"}, "data": {}})
    assert created.metadata.name.startswith("cfg-")
    assert len(created.metadata.name) == len("cfg-") + 5


def test_not_found_and_already_exists_are_status_objects(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("nope", namespace)
    assert exc.value.status == 404
    body = _status(exc.value)
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'pods "nope" not found'
    core.create_namespaced_config_map(namespace, configmap("dup"))
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(namespace, configmap("dup"))
    assert exc.value.status == 409
    assert _status(exc.value)["reason"] == "AlreadyExists"
    assert _status(exc.value)["message"] == 'configmaps "dup" already exists'


def test_create_into_missing_namespace(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("no-such-ns", configmap("x"))
    assert exc.value.status == 404
    assert _status(exc.value)["message"] == 'namespaces "no-such-ns" not found'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": {"name": "Bad_Name"}, "data": {}}, "metadata.name"),
        ({"metadata": {"name": "ok", "labels": {"bad key!": "v"}}, "data": {}}, "metadata.labels"),
        ({"metadata": {"name": "ok2", "labels": {"k": "bad value!"}}, "data": {}}, "metadata.labels"),
    ],
)
def test_invalid_names_and_labels(core: client.CoreV1Api, namespace: str, body: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(namespace, body)
    assert exc.value.status == 422
    status = _status(exc.value)
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == field
    assert "is invalid" in status["message"]


def test_pod_requires_containers_and_images(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": {"containers": []}})
    assert _status(exc.value)["details"]["causes"][0]["field"] == "spec.containers"
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(
            namespace, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}
        )
    assert _status(exc.value)["message"] == 'Pod "p" is invalid: spec.containers[0].image: Required value'


def test_deployment_selector_must_match_template(apps: client.AppsV1Api, namespace: str) -> None:
    body = deployment("mismatch")
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as exc:
        apps.create_namespaced_deployment(namespace, body)
    assert exc.value.status == 422
    assert "`selector` does not match template `labels`" in _status(exc.value)["message"]


def test_update_with_stale_resource_version_conflicts(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("cc"))
    first = core.read_namespaced_config_map("cc", namespace)
    second = core.read_namespaced_config_map("cc", namespace)
    first.data = {"k": "first"}
    updated = core.replace_namespaced_config_map("cc", namespace, first)
    assert int(updated.metadata.resource_version) > int(second.metadata.resource_version)
    second.data = {"k": "second"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("cc", namespace, second)
    assert exc.value.status == 409
    assert _status(exc.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "cc": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_generation_tracks_spec_only(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("gen", replicas=0))
    assert apps.read_namespaced_deployment("gen", namespace).metadata.generation == 1
    apps.patch_namespaced_deployment("gen", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert apps.read_namespaced_deployment("gen", namespace).metadata.generation == 1
    apps.patch_namespaced_deployment("gen", namespace, {"spec": {"replicas": 0, "minReadySeconds": 3}})
    assert apps.read_namespaced_deployment("gen", namespace).metadata.generation == 2


def test_status_subresource_semantics(core: client.CoreV1Api, namespace: str) -> None:
    # A PVC: a kind with a status subresource that no kubesim controller writes to.
    pvc = {
        "metadata": {"name": "st"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    core.create_namespaced_persistent_volume_claim(namespace, pvc)
    # The main resource ignores status changes ...
    core.patch_namespaced_persistent_volume_claim("st", namespace, {"status": {"phase": "Bound"}})
    assert core.read_namespaced_persistent_volume_claim("st", namespace).status.phase == "Pending"
    # ... and /status ignores spec changes.
    core.patch_namespaced_persistent_volume_claim_status(
        "st", namespace, {"spec": {"volumeName": "elsewhere"}, "status": {"phase": "Bound"}}
    )
    got = core.read_namespaced_persistent_volume_claim("st", namespace)
    assert got.spec.volume_name is None
    assert got.status.phase == "Bound"


def test_dry_run_changes_nothing(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, configmap("dry"), dry_run="All")
    assert created.metadata.name == "dry"
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", namespace)
    core.create_namespaced_config_map(namespace, configmap("dry"))
    core.patch_namespaced_config_map("dry", namespace, {"data": {"k": "changed"}}, dry_run="All")
    assert core.read_namespaced_config_map("dry", namespace).data == {"k": "v"}
    core.delete_namespaced_config_map("dry", namespace, dry_run="All")
    assert core.read_namespaced_config_map("dry", namespace).data == {"k": "v"}


def test_label_selectors(core: client.CoreV1Api, namespace: str) -> None:
    for name, labels in [("a", {"env": "prod", "tier": "web"}), ("b", {"env": "test"}), ("c", {})]:
        core.create_namespaced_config_map(namespace, configmap(name, labels))

    def names(selector: str) -> list[str]:
        items = core.list_namespaced_config_map(namespace, label_selector=selector).items
        return [o.metadata.name for o in items]

    assert names("env=prod") == ["a"]
    assert names("env==prod") == ["a"]
    assert names("env!=prod") == ["b", "c"]
    assert names("env in (prod,test)") == ["a", "b"]
    assert names("env notin (prod)") == ["b", "c"]
    assert names("tier") == ["a"]
    assert names("!tier") == ["b", "c"]
    assert names("env=prod,tier=web") == ["a"]


def test_field_selectors(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("x1"))
    core.create_namespaced_config_map(namespace, configmap("x2"))
    items = core.list_namespaced_config_map(namespace, field_selector="metadata.name=x2").items
    assert [o.metadata.name for o in items] == ["x2"]
    items = core.list_namespaced_config_map(namespace, field_selector="metadata.name!=x2").items
    assert "x2" not in [o.metadata.name for o in items]
    pods = core.list_pod_for_all_namespaces(field_selector="status.phase==Running,spec.nodeName!=nowhere")
    assert all(p.status.phase == "Running" for p in pods.items)
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(namespace, field_selector="spec.nope=1")
    assert exc.value.status == 400
    assert _status(exc.value)["message"] == "field label not supported: spec.nope"


def test_pagination_is_consistent(core: client.CoreV1Api, namespace: str) -> None:
    for i in range(7):
        core.create_namespaced_config_map(namespace, configmap(f"p{i}"))
    first = core.list_namespaced_config_map(namespace, limit=3)
    assert [o.metadata.name for o in first.items] == ["p0", "p1", "p2"]
    assert first.metadata.remaining_item_count == 4
    # Changes after the first page do not show up in later pages of the same list.
    core.create_namespaced_config_map(namespace, configmap("p3a"))
    core.delete_namespaced_config_map("p5", namespace)
    second = core.list_namespaced_config_map(namespace, limit=3, _continue=first.metadata._continue)
    assert [o.metadata.name for o in second.items] == ["p3", "p4", "p5"]
    assert second.metadata.resource_version == first.metadata.resource_version
    third = core.list_namespaced_config_map(namespace, limit=3, _continue=second.metadata._continue)
    assert [o.metadata.name for o in third.items] == ["p6"]
    assert third.metadata._continue is None


def test_list_across_namespaces(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("everywhere"))
    items = core.list_config_map_for_all_namespaces(field_selector="metadata.name=everywhere").items
    assert [(o.metadata.namespace, o.metadata.name) for o in items] == [(namespace, "everywhere")]


def test_crds_are_discoverable(api_client: client.ApiClient) -> None:
    crds = client.ApiextensionsV1Api(api_client).list_custom_resource_definition().items
    names = {c.metadata.name for c in crds}
    assert {"pytorchjobs.kubeflow.org", "hyperpodpytorchjobs.sagemaker.amazonaws.com"} <= names


def test_custom_resources(custom: client.CustomObjectsApi, namespace: str) -> None:
    body = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "ptj"},
        "spec": {"pytorchReplicaSpecs": {}},
    }
    custom.create_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs", body)
    got = custom.get_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs", "ptj")
    assert got["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs")
    assert [o["metadata"]["name"] for o in listed["items"]] == ["ptj"]


def test_list_at_exact_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("then"))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, configmap("later"))
    core.patch_namespaced_config_map("then", namespace, {"data": {"k": "changed"}})
    old = core.list_namespaced_config_map(namespace, resource_version=rv, resource_version_match="Exact")
    assert [(o.metadata.name, o.data) for o in old.items] == [("then", {"k": "v"})]
    assert old.metadata.resource_version == rv
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(
            namespace, resource_version="999999999", resource_version_match="NotOlderThan"
        )
    assert exc.value.status == 504


def test_immutable_fields(apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("imm", replicas=0))
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment(
            "imm",
            namespace,
            {
                "spec": {
                    "selector": {"matchLabels": {"app": "imm", "x": "y"}},
                    "template": {"metadata": {"labels": {"app": "imm", "x": "y"}}},
                }
            },
        )
    assert exc.value.status == 422
    message = _status(exc.value)["message"]
    assert message.startswith('Deployment.apps "imm" is invalid: spec.selector: Invalid value: ')
    assert message.endswith("field is immutable")
    core.create_namespaced_pod(namespace, unscheduled_pod("ip"))
    core.patch_namespaced_pod("ip", namespace, {"metadata": {"labels": {"ok": "yes"}}})
    core.patch_namespaced_pod(
        "ip", namespace, {"spec": {"containers": [{"name": "app", "image": "busybox:1.37"}]}}
    )
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_pod("ip", namespace, {"spec": {"restartPolicy": "Never"}})
    assert exc.value.status == 422
    assert "Forbidden: pod updates may not change fields other than" in _status(exc.value)["message"]


def test_unknown_fields_are_dropped_with_a_warning_or_refused_when_strict(
    kubesim: RunningKubeSim, namespace: str
) -> None:
    url = f"{kubesim.url}/api/v1/namespaces/{namespace}/configmaps"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typo"}, "dta": {"a": "b"}}
    resp = httpx.post(url, json=body)
    assert resp.status_code == 201
    assert "dta" not in resp.json()
    assert resp.headers["Warning"] == r'299 - "unknown field \"dta\""'
    strict = httpx.post(
        url, json={**body, "metadata": {"name": "typo2"}}, params={"fieldValidation": "Strict"}
    )
    assert strict.status_code == 400
    assert strict.json()["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
        'strict decoding error: unknown field "dta"'
    )


def test_unknown_nested_fields_in_workloads(kubesim: RunningKubeSim, namespace: str) -> None:
    body = deployment("deep", replicas=0)
    body["spec"]["replica"] = 3
    body["spec"]["template"]["spec"]["containers"][0]["imagee"] = "typo"
    url = f"{kubesim.url}/apis/apps/v1/namespaces/{namespace}/deployments"
    strict = httpx.post(url, json=body, params={"fieldValidation": "Strict"})
    assert strict.status_code == 400
    assert strict.json()["message"].endswith(
        'strict decoding error: unknown field "spec.replica", '
        'unknown field "spec.template.spec.containers[0].imagee"'
    )
    created = httpx.post(url, json=body).json()
    assert "replica" not in created["spec"]
    assert "imagee" not in created["spec"]["template"]["spec"]["containers"][0]


def test_null_fields_mean_unset(kubesim: RunningKubeSim) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "nulls-ns", "labels": None},
        "spec": None,
    }
    resp = httpx.post(kubesim.url + "/api/v1/namespaces", json=body)
    assert resp.status_code == 201
    assert resp.json()["metadata"]["labels"] == {"kubernetes.io/metadata.name": "nulls-ns"}
    httpx.delete(kubesim.url + "/api/v1/namespaces/nulls-ns").raise_for_status()


def test_nested_nulls_are_dropped_on_every_write(kubesim: RunningKubeSim, namespace: str) -> None:
    # kubectl sends `creationTimestamp: null` inside pod templates; the real server never stores a null.
    url = f"{kubesim.url}/apis/apps/v1/namespaces/{namespace}/deployments"
    body = deployment("nully")
    body["spec"]["template"]["metadata"]["creationTimestamp"] = None
    body["spec"]["template"]["spec"]["containers"][0]["command"] = None
    created = httpx.post(url, json=body).json()
    template = created["spec"]["template"]
    assert "creationTimestamp" not in template["metadata"]
    assert "command" not in template["spec"]["containers"][0]

    created["spec"]["template"]["metadata"]["creationTimestamp"] = None
    del created["metadata"]["resourceVersion"]  # unconditional: the controller writes status meanwhile
    updated = httpx.put(f"{url}/nully", json=created).json()
    assert "creationTimestamp" not in updated["spec"]["template"]["metadata"]

    patch = [{"op": "add", "path": "/spec/template/spec/containers/0/args", "value": None}]
    patched = httpx.patch(
        f"{url}/nully", content=json.dumps(patch), headers={"Content-Type": "application/json-patch+json"}
    ).json()
    assert "args" not in patched["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/namespaces/default/configmaps", {"metadata": {"name": 5}}),
        ("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "l", "labels": {"k": 5}}}),
        ("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "o", "ownerReferences": "x"}}),
        ("/api/v1/namespaces/default/pods", {"metadata": {"name": "p"}, "spec": 7}),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            {"metadata": {"name": "d"}, "spec": {"template": 3}},
        ),
        ("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "stringData": [1]}),
    ],
)
def test_malformed_bodies_are_client_errors(kubesim: RunningKubeSim, path: str, body: dict) -> None:  # type: ignore[type-arg]
    resp = httpx.post(kubesim.url + path, json=body)
    assert 400 <= resp.status_code < 500
    assert resp.json()["kind"] == "Status"


def test_secrets_string_data_and_base64(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_secret(
        namespace, {"metadata": {"name": "tok"}, "stringData": {"token": "hf_x"}}
    )
    assert created.data == {"token": "aGZfeA=="}
    assert created.string_data is None
    assert created.type == "Opaque"
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_secret(
            namespace, {"metadata": {"name": "bad"}, "data": {"token": "not base64!"}}
        )
    assert exc.value.status == 400
