"""Deletion: propagation policies and ownerReference GC, finalizers, graceful pods, deletecollection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import configmap, deployment, unscheduled_pod, wait_for


def _owned(name: str, owner: Any) -> dict[str, Any]:
    body = configmap(name)
    body["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}
    ]
    return body


def _exists(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_background_deletion_collects_dependents(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, configmap("owner"))
    child = core.create_namespaced_config_map(namespace, _owned("child", owner))
    core.create_namespaced_config_map(namespace, _owned("grandchild", child))
    core.delete_namespaced_config_map("owner", namespace)
    assert not _exists(core, namespace, "owner")
    assert not _exists(core, namespace, "child")
    assert not _exists(core, namespace, "grandchild")


def test_orphan_deletion_keeps_dependents_without_owner(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, configmap("owner"))
    core.create_namespaced_config_map(namespace, _owned("child", owner))
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Orphan")
    assert not _exists(core, namespace, "owner")
    assert core.read_namespaced_config_map("child", namespace).metadata.owner_references is None


def test_foreground_deletion_waits_for_dependents(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, configmap("owner"))
    child = _owned("child", owner)
    child["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map(namespace, child)
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Foreground")
    held = core.read_namespaced_config_map("owner", namespace)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["foregroundDeletion"]
    assert core.read_namespaced_config_map("child", namespace).metadata.deletion_timestamp is not None
    # Releasing the child's finalizer lets the child go, and then the owner.
    core.patch_namespaced_config_map("child", namespace, {"metadata": {"finalizers": None}})
    assert not _exists(core, namespace, "child")
    assert not _exists(core, namespace, "owner")


def test_finalizers_hold_an_object_until_cleared(core: client.CoreV1Api, namespace: str) -> None:
    body = configmap("fin")
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    core.create_namespaced_config_map(namespace, body)
    core.delete_namespaced_config_map("fin", namespace)
    obj = core.read_namespaced_config_map("fin", namespace)
    assert obj.metadata.deletion_timestamp is not None
    # No new finalizers on a deleting object.
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "fin",
            namespace,
            {"metadata": {"finalizers": ["example.com/a", "example.com/b", "example.com/c"]}},
        )
    assert exc.value.status == 422
    obj.metadata.finalizers = ["example.com/b"]
    obj = core.replace_namespaced_config_map("fin", namespace, obj)
    assert _exists(core, namespace, "fin")
    obj.metadata.finalizers = []
    core.replace_namespaced_config_map("fin", namespace, obj)
    assert not _exists(core, namespace, "fin")


def test_unbound_pod_goes_at_once(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, unscheduled_pod("floating"))
    core.delete_namespaced_pod("floating", namespace)
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("floating", namespace)
    assert exc.value.status == 404


def test_bound_pod_terminates_gracefully(core: client.CoreV1Api, namespace: str) -> None:
    pod = {"metadata": {"name": "bound"}, "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}}
    core.create_namespaced_pod(namespace, pod)
    wait_for(lambda: core.read_namespaced_pod("bound", namespace).spec.node_name)
    deleted = core.delete_namespaced_pod("bound", namespace, grace_period_seconds=30)
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 30
    # The kubelet finishes the termination and removes the pod.
    wait_for(lambda: not core.list_namespaced_pod(namespace, field_selector="metadata.name=bound").items)


def test_delete_collection_with_label_selector(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("d1", {"sweep": "yes"}))
    core.create_namespaced_config_map(namespace, configmap("d2", {"sweep": "yes"}))
    core.create_namespaced_config_map(namespace, configmap("keep", {"sweep": "no"}))
    core.delete_collection_namespaced_config_map(namespace, label_selector="sweep=yes")
    assert [o.metadata.name for o in core.list_namespaced_config_map(namespace).items] == ["keep"]


def test_deleting_a_deployment_cascades_to_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("casc", replicas=2))
    wait_for(lambda: len(core.list_namespaced_pod(namespace, label_selector="app=casc").items) == 2)
    apps.delete_namespaced_deployment("casc", namespace)
    wait_for(lambda: not apps.list_namespaced_replica_set(namespace).items)
    wait_for(lambda: not core.list_namespaced_pod(namespace, label_selector="app=casc").items)


def test_delete_preconditions(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("pre"))
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map(
            "pre", namespace, body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="wrong"))
        )
    assert exc.value.status == 409
    assert _exists(core, namespace, "pre")


def test_namespace_deletion_removes_its_contents(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "doomed-ns"}})
    core.create_namespaced_config_map("doomed-ns", configmap("inside"))
    core.delete_namespace("doomed-ns")
    wait_for(lambda: not core.list_namespace(field_selector="metadata.name=doomed-ns").items)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("doomed-ns", configmap("late"))
    assert exc.value.status == 404


def test_delete_collection_needs_a_namespace(kubesim: RunningKubeSim) -> None:
    resp = httpx.delete(kubesim.url + "/api/v1/configmaps")
    assert resp.status_code == 405
    assert resp.json()["reason"] == "MethodNotAllowed"


def test_delete_answers_like_the_real_registries(core: client.CoreV1Api, namespace: str) -> None:
    # Services (like pods, service accounts, PVs, PVCs) answer the deleted object; the typed client needs it.
    core.create_namespaced_service(
        namespace, {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}], "selector": {"a": "b"}}}
    )
    deleted_svc = core.delete_namespaced_service("svc", namespace)
    assert isinstance(deleted_svc, client.V1Service)
    assert deleted_svc.metadata.name == "svc"
    sa = core.create_namespaced_service_account(namespace, {"metadata": {"name": "robot"}})
    assert core.delete_namespaced_service_account("robot", namespace).metadata.uid == sa.metadata.uid

    # Other kinds gone at once answer a Status Success naming the object.
    cm = core.create_namespaced_config_map(namespace, configmap("plain"))
    status = core.delete_namespaced_config_map("plain", namespace)
    assert status["kind"] == "Status"
    assert status["status"] == "Success"
    assert status["details"] == {"name": "plain", "kind": "configmaps", "uid": cm.metadata.uid}

    # A delete held by a finalizer answers the object as it now is, with its deletionTimestamp.
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map(namespace, held)
    answer = core.delete_namespaced_config_map("held", namespace)
    assert answer["kind"] == "ConfigMap"
    assert answer["metadata"]["deletionTimestamp"]
    assert answer["metadata"]["finalizers"] == ["example.com/hold"]
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    assert not _exists(core, namespace, "held")
