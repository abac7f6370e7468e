"""Each core command kind end to end: accepted → Celery worker → visible in kubesim → succeeded → audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.realtime.stream import stream_key
from support.waiting import wait_until
from worker.fixtures import SIM_CLUSTER, Pipeline

pytestmark = pytest.mark.usefixtures("worker")


def _pod(core: k8s.CoreV1Api, namespace: str, name: str, labels: dict[str, str] | None = None) -> None:
    core.create_namespaced_pod(
        namespace,
        {"metadata": {"name": name, "labels": labels or {}},
         "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    )  # fmt: skip


def _deployment(apps: k8s.AppsV1Api, namespace: str, name: str, replicas: int = 1) -> None:
    labels = {"app": name}
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                             "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
            },
        },
    )  # fmt: skip


def _succeeded(pipeline: Pipeline, op: Operation) -> Operation:
    done = pipeline.wait_finished(op.id)
    assert done.status == OperationStatus.succeeded, done.error
    actions = [e.action for e in pipeline.audit(op.id)]
    assert actions[0] == f"command.{op.kind}"
    assert "operation.running" in actions
    assert actions[-1] == "operation.succeeded"
    pipeline.verify_audit()
    return done


def test_label_sets_and_removes_labels(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    core = k8s.CoreV1Api(kube)
    _pod(core, namespace, "p1", {"old": "x"})
    op = submit("label", {"namespace": namespace, "kind": "pod", "name": "p1",
                          "labels": {"team": "search", "old": None}})  # fmt: skip
    done = _succeeded(pipeline, op)
    labels = core.read_namespaced_pod("p1", namespace).metadata.labels
    assert labels.get("team") == "search"
    assert "old" not in labels
    assert done.result == {"kind": "pod", "namespace": namespace, "name": "p1",
                           "labels": {"team": "search", "old": None}}  # fmt: skip
    assert done.attempts == 1
    # Every state change reached the cluster's event stream, in order, after its commit.
    statuses = []
    for _id, fields in pipeline.redis.xrange(stream_key(SIM_CLUSTER)):
        obj = json.loads(fields[b"object"])
        if fields[b"topic"] == b"operations" and obj["id"] == str(op.id):
            statuses.append(obj["status"])
    assert statuses == ["queued", "running", "succeeded"]


def test_annotate_a_cluster_scoped_node(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(kube)
    node = core.list_node().items[0].metadata.name
    op = submit("annotate", {"kind": "node", "name": node, "annotations": {"podium.dev/note": "drain me"}})
    _succeeded(pipeline, op)
    assert core.read_node(node).metadata.annotations["podium.dev/note"] == "drain me"


def test_scale_a_deployment(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    apps = k8s.AppsV1Api(kube)
    _deployment(apps, namespace, "web", replicas=1)
    op = submit("scale", {"namespace": namespace, "name": "web", "replicas": 3})
    done = _succeeded(pipeline, op)
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 3
    assert done.result == {"namespace": namespace, "name": "web", "replicas": 3, "previous_replicas": 1}
    # The simulated controllers follow: three pods appear.
    core = k8s.CoreV1Api(kube)
    wait_until(lambda: len(core.list_namespaced_pod(namespace, label_selector="app=web").items) == 3,
               20, "three web pods")  # fmt: skip


def test_delete_is_idempotent(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    core = k8s.CoreV1Api(kube)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    first = _succeeded(
        pipeline, submit("delete", {"namespace": namespace, "kind": "configmap", "name": "cfg"})
    )
    assert first.result == {"kind": "configmap", "namespace": namespace, "name": "cfg", "deleted": True}
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("cfg", namespace)
    assert exc.value.status == 404
    # Already gone is the state we wanted: the second delete succeeds too.
    again = _succeeded(
        pipeline, submit("delete", {"namespace": namespace, "kind": "configmap", "name": "cfg"})
    )
    assert again.result is not None
    assert again.result["already_absent"] is True


def test_apply_server_side(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    manifests: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": namespace},
         "data": {"mode": "fast"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": namespace},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                  "template": {"metadata": {"labels": {"app": "api"}},
                               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
    ]  # fmt: skip
    done = _succeeded(pipeline, submit("apply", {"manifests": manifests}))
    assert [a["kind"] for a in done.result["applied"]] == ["ConfigMap", "Deployment"]  # type: ignore[index]
    cm = k8s.CoreV1Api(kube).read_namespaced_config_map("settings", namespace)
    assert cm.data == {"mode": "fast"}
    assert any(m.manager == "podium" for m in cm.metadata.managed_fields or [])
    assert k8s.AppsV1Api(kube).read_namespaced_deployment("api", namespace).spec.replicas == 2
    # Applying the same manifests again converges on the same state.
    manifests[0]["data"] = {"mode": "safe"}
    _succeeded(pipeline, submit("apply", {"manifests": manifests}))
    assert k8s.CoreV1Api(kube).read_namespaced_config_map("settings", namespace).data == {"mode": "safe"}
