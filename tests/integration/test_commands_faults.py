"""Retry classification against kubesim's fault injection: throttling, server errors and conflicts are
retried with backoff until they pass (each attempt recorded); not-found and invalid fail at once with a
sentence a person understands; a fault that never clears gives up after the configured attempts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client as k8s
from podium_shared.models.operation import Operation, OperationStatus
from worker.fixtures import Faults, Pipeline

pytestmark = pytest.mark.usefixtures("worker")


def _pod(kube: k8s.ApiClient, namespace: str, name: str) -> None:
    k8s.CoreV1Api(kube).create_namespaced_pod(
        namespace, {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    )


@pytest.mark.parametrize(
    ("status", "count"),
    [(429, 3), (503, 3), (500, 2), (409, 2)],
    ids=["throttled-429", "unavailable-503", "internal-500", "conflict-409"],
)
def test_transient_bursts_are_retried_to_success(  # noqa: PLR0917 - fixtures arrive as parameters
    pipeline: Pipeline,
    submit: Callable[..., Operation],
    kube: k8s.ApiClient,
    namespace: str,
    faults: Faults,
    status: int,
    count: int,
) -> None:
    _pod(kube, namespace, "p")
    faults.add(verb="patch", resource="pods", namespace=namespace, status=status, count=count, retry_after=0)
    op = submit("label", {"namespace": namespace, "kind": "pod", "name": "p", "labels": {"tier": "gold"}})
    done = pipeline.wait_finished(op.id)
    assert done.status == OperationStatus.succeeded, done.error
    assert done.attempts == count + 1
    assert done.error is None
    retries = pipeline.audit(op.id, "operation.retry")
    assert len(retries) == count
    assert {r.details["error"]["details"]["http_status"] for r in retries} == {status}
    assert [r.details["attempts"] for r in retries] == list(range(1, count + 1))
    labels = k8s.CoreV1Api(kube).read_namespaced_pod("p", namespace).metadata.labels
    assert labels["tier"] == "gold"
    pipeline.verify_audit()


def test_retry_after_is_honoured(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    _pod(kube, namespace, "p")
    faults.add(verb="patch", resource="pods", namespace=namespace, status=429, count=1, retry_after=1)
    op = submit("label", {"namespace": namespace, "kind": "pod", "name": "p", "labels": {"a": "b"}})
    done = pipeline.wait_finished(op.id)
    assert done.status == OperationStatus.succeeded
    (retry,) = pipeline.audit(op.id, "operation.retry")
    # Retry-After: 1, capped by the (test) backoff maximum of 0.5 s: never less than the cap.
    assert retry.details["retry_in_seconds"] >= pipeline.settings.operation_backoff_max_seconds


def test_a_fault_that_never_clears_gives_up_after_max_attempts(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    _pod(kube, namespace, "p")
    faults.add(verb="patch", resource="pods", namespace=namespace, status=503)
    op = submit("label", {"namespace": namespace, "kind": "pod", "name": "p", "labels": {"a": "b"}})
    done = pipeline.wait_finished(op.id, timeout=60)
    assert done.status == OperationStatus.failed
    assert done.attempts == pipeline.settings.operation_max_attempts
    assert done.error is not None
    assert done.error["code"] == "server_error"
    assert done.error["details"]["gave_up"] is True
    assert len(pipeline.audit(op.id, "operation.retry")) == pipeline.settings.operation_max_attempts - 1


def test_not_found_fails_at_once_with_a_clear_message(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    op = submit("label", {"namespace": namespace, "kind": "pod", "name": "ghost", "labels": {"a": "b"}})
    done = pipeline.wait_finished(op.id)
    assert done.status == OperationStatus.failed
    assert done.attempts == 1
    assert done.error is not None
    assert done.error["code"] == "not_found"
    assert done.error["message"] == f'pod "ghost" in namespace "{namespace}" not found'
    assert pipeline.audit(op.id, "operation.failed")[0].details["error"]["code"] == "not_found"


def test_scale_of_a_missing_deployment_names_it(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    done = pipeline.wait_finished(submit("scale", {"namespace": namespace, "name": "nope", "replicas": 2}).id)
    assert done.status == OperationStatus.failed
    assert done.error is not None
    assert done.error["message"] == f'deployment "nope" in namespace "{namespace}" not found'


def test_invalid_object_fails_at_once_with_the_servers_causes(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "y"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
    }  # fmt: skip
    done = pipeline.wait_finished(submit("apply", {"manifests": [bad]}).id)
    assert done.status == OperationStatus.failed, done.result
    assert done.attempts == 1
    assert done.error is not None
    assert done.error["code"] == "invalid"
    assert done.error["message"].startswith("invalid: ")
