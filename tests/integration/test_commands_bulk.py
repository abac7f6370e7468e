"""Bulk: one parent, one child per item, bounded concurrency, a result per item, cancel of the rest."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from kubernetes import client as k8s
from podium_shared.auth.principal import RequestMeta
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations.service import cancel
from podium_shared.realtime.stream import stream_key
from sqlalchemy import func, select
from support.waiting import wait_until
from worker.fixtures import ADMIN, SIM_CLUSTER, Faults, Pipeline

pytestmark = pytest.mark.usefixtures("worker")


def _configmaps(kube: k8s.ApiClient, namespace: str, names: list[str]) -> None:
    core = k8s.CoreV1Api(kube)
    for name in names:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name}})


def _pods(kube: k8s.ApiClient, namespace: str, names: list[str]) -> None:
    core = k8s.CoreV1Api(kube)
    for name in names:
        core.create_namespaced_pod(
            namespace,
            {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        )


def _label_items(namespace: str, kind: str, names: list[str], value: str) -> list[dict[str, object]]:
    return [
        {
            "kind": "label",
            "params": {"namespace": namespace, "kind": kind, "name": n, "labels": {"batch": value}},
        }
        for n in names
    ]


def _in_flight(pipeline: Pipeline, parent_id: uuid.UUID) -> int:
    with pipeline.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Operation)
                .where(
                    Operation.parent_id == parent_id,
                    (Operation.status == OperationStatus.running)
                    | ((Operation.status == OperationStatus.queued) & Operation.dispatched_at.is_not(None)),
                )
            )
            or 0
        )


def test_bulk_label_of_hundreds_reports_each_failed_item(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    present = [f"pod-{i}" for i in range(280)]
    missing = [f"missing-{i}" for i in range(20)]
    _pods(kube, namespace, present)
    names = present[:140] + missing + present[140:]
    concurrency = 8
    parent = submit(
        "bulk", {"items": _label_items(namespace, "pod", names, "b1"), "concurrency": concurrency}
    )

    peak = 0

    def finished() -> Operation | None:
        nonlocal peak
        peak = max(peak, _in_flight(pipeline, parent.id))
        op = pipeline.get(parent.id)
        return op if op.status.finished else None

    done = wait_until(finished, 120, "the bulk parent to finish")
    assert peak <= concurrency
    assert done.status == OperationStatus.failed
    assert done.progress == {"total": 300, "succeeded": 280, "failed": 20, "cancelled": 0}
    assert done.error is not None
    assert done.error["message"].startswith("20 of 300 items did not succeed")
    assert done.result is not None
    failures = done.result["failures"]
    assert sorted(f["name"] for f in failures) == sorted(missing)
    assert {f["error"]["code"] for f in failures} == {"not_found"}
    assert failures[0]["error"]["message"].endswith(f'in namespace "{namespace}" not found')

    labelled = k8s.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector="batch=b1").items
    assert len(labelled) == 280
    children = pipeline.children(parent.id)
    assert {c.queue for c in children} == {"bulk"}
    assert all(c.attempts == 1 for c in children)
    # The parent's lifecycle is audited once: running, then its final state.
    assert [e.action for e in pipeline.audit(parent.id)] == [
        "command.bulk",
        "operation.running",
        "operation.failed",
    ]
    pipeline.verify_audit()


def test_bulk_that_fully_succeeds(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    names = [f"cm-{i}" for i in range(12)]
    _configmaps(kube, namespace, names)
    parent = submit("bulk", {"items": _label_items(namespace, "configmap", names, "ok"), "concurrency": 3})
    done = pipeline.wait_finished(parent.id)
    assert done.status == OperationStatus.succeeded
    assert done.progress == {"total": 12, "succeeded": 12, "failed": 0, "cancelled": 0}
    assert done.result == {"total": 12, "succeeded": 12, "failed": 0, "cancelled": 0, "failures": []}
    # The consoles saw the parent's progress move forward item by item, never back. Children finishing at
    # the same moment publish after their commits in no fixed order, so a state overtaken by a newer one
    # is dropped rather than shown late (operations.events.state_rank): steps may be skipped, never reversed.
    seen = []
    for _id, fields in pipeline.redis.xrange(stream_key(SIM_CLUSTER)):
        obj = json.loads(fields[b"object"])
        if fields[b"topic"] == b"operations" and obj["id"] == str(parent.id):
            seen.append(obj["progress"]["succeeded"])
    assert seen == sorted(seen)
    assert seen[0] == 0  # accepted
    assert seen[-1] == 12
    assert len(set(seen)) > 3  # live progress, not just the start and the end


def test_cancel_of_a_bulk_stops_the_rest(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    names = [f"cm-{i}" for i in range(60)]
    _configmaps(kube, namespace, names)
    # Slow every patch in this namespace so the bulk is still going when we cancel it.
    faults.add(verb="patch", resource="configmaps", namespace=namespace, latency_seconds=0.2)
    parent = submit("bulk", {"items": _label_items(namespace, "configmap", names, "c"), "concurrency": 2})
    wait_until(
        lambda: (pipeline.get(parent.id).progress or {}).get("succeeded", 0) >= 3, 30, "a few items done"
    )

    with unit_of_work(pipeline.sessions) as session:
        cancel(session, ADMIN, RequestMeta(request_id="cancel-test"), parent.id)

    done = pipeline.wait_finished(parent.id)
    assert done.status == OperationStatus.cancelled
    progress = done.progress
    assert progress is not None
    assert progress["total"] == 60
    assert progress["succeeded"] >= 3
    assert progress["cancelled"] > 0
    assert progress["succeeded"] + progress["failed"] + progress["cancelled"] == 60
    children = pipeline.children(parent.id)
    assert not [c for c in children if not c.status.finished]
    cancelled = [c for c in children if c.status == OperationStatus.cancelled]
    assert len(cancelled) == progress["cancelled"]
    assert all(c.attempts == 0 for c in cancelled)  # never started
    labelled = k8s.CoreV1Api(kube).list_namespaced_config_map(namespace, label_selector="batch=c").items
    assert len(labelled) == progress["succeeded"]
