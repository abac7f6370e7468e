"""The runner in-process (no Celery worker): the guarded claim, the lock token, retries, cancellation and
the sweep's give-up rule, against real Postgres and kubesim."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from kubernetes import client as k8s
from podium_shared.auth.principal import RequestMeta
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import runner, stamping, sweep
from podium_shared.operations.service import cancel
from podium_shared.settings import PodiumSettings
from sqlalchemy import case, func, update
from worker.fixtures import ADMIN, Faults, Pipeline, wait_until

pytestmark = pytest.mark.usefixtures("sim_cluster")


def _configmap(kube: k8s.ApiClient, namespace: str, name: str = "cm") -> None:
    k8s.CoreV1Api(kube).create_namespaced_config_map(namespace, {"metadata": {"name": name}})


def _label(namespace: str, name: str = "cm") -> dict[str, object]:
    return {"namespace": namespace, "kind": "configmap", "name": name, "labels": {"k": "v"}}


def _run(pipeline: Pipeline, op_id: uuid.UUID) -> OperationStatus | None:
    return runner.execute(op_id, settings=pipeline.settings, sessions=pipeline.sessions)


def test_two_deliveries_of_one_message_run_it_once(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str
) -> None:
    _configmap(kube, namespace)
    op = submit("label", _label(namespace))
    barrier = threading.Barrier(4)
    results: list[OperationStatus | None] = []

    def deliver() -> None:
        barrier.wait()
        results.append(_run(pipeline, op.id))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results, key=str) == [None, None, None, OperationStatus.succeeded]
    assert pipeline.get(op.id).attempts == 1
    assert len(pipeline.audit(op.id, "operation.running")) == 1


def test_a_worker_that_lost_its_claim_drops_its_result(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    _configmap(kube, namespace)
    faults.add(verb="patch", resource="configmaps", namespace=namespace, latency_seconds=1.0)
    op = submit("label", _label(namespace))
    outcome: list[OperationStatus | None] = []
    t = threading.Thread(target=lambda: outcome.append(_run(pipeline, op.id)))
    t.start()
    wait_until(lambda: pipeline.get(op.id).status == OperationStatus.running, 10, "the claim")
    newer = uuid.uuid4()
    with unit_of_work(pipeline.sessions) as session:  # what the sweep + another worker would leave behind
        session.execute(update(Operation).where(Operation.id == op.id).values(lock_token=newer))
    t.join(30)
    assert outcome == [None]
    after = pipeline.get(op.id)
    assert after.status == OperationStatus.running
    assert after.lock_token == newer
    assert pipeline.audit(op.id, "operation.succeeded") == []


def test_transient_failure_requeues_with_backoff_and_an_early_delivery_waits(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    _configmap(kube, namespace)
    faults.add(verb="patch", resource="configmaps", namespace=namespace, status=503, count=1)
    settings = pipeline.settings.model_copy(
        update={"operation_backoff_base_seconds": 30.0, "operation_backoff_max_seconds": 30.0}
    )
    op = submit("label", _label(namespace))
    assert runner.execute(op.id, settings=settings, sessions=pipeline.sessions) == OperationStatus.queued
    queued = pipeline.get(op.id)
    assert queued.status == OperationStatus.queued
    assert queued.attempts == 1
    assert queued.error is not None
    assert queued.error["code"] == "server_error"
    assert queued.not_before is not None
    # Not due yet: a delivery now (the countdown fired early, a duplicate) must not run it. The backoff is
    # drawn with full jitter from [0, 30 s) and may be a few ms: pinned to the window's far end for this.
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.id == op.id)
            .values(not_before=func.now() + timedelta(seconds=30))
        )
    assert _run(pipeline, op.id) is None
    with unit_of_work(pipeline.sessions) as session:
        session.execute(update(Operation).where(Operation.id == op.id).values(not_before=func.now()))
    assert _run(pipeline, op.id) == OperationStatus.succeeded
    done = pipeline.get(op.id)
    assert done.attempts == 2
    assert done.error is None


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_is_full_jitter_within_the_cap(attempt: int) -> None:
    settings = PodiumSettings(operation_backoff_base_seconds=0.5, operation_backoff_max_seconds=20.0)
    cap = min(20.0, 0.5 * 2 ** (attempt - 1))
    delays = [runner.backoff_seconds(attempt, settings) for _ in range(200)]
    assert all(0.0 <= d <= cap for d in delays)
    assert max(delays) > cap / 2  # it really spreads over the window
    assert runner.backoff_seconds(attempt, settings, retry_after=15.0) >= 15.0
    assert runner.backoff_seconds(attempt, settings, retry_after=100.0) <= 20.0


def test_cancel_of_a_running_apply_stops_between_manifests(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str, faults: Faults
) -> None:
    faults.add(verb="patch", resource="configmaps", namespace=namespace, latency_seconds=1.0)
    manifests = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"m{i}", "namespace": namespace}}
        for i in range(3)
    ]
    op = submit("apply", {"manifests": manifests})
    outcome: list[OperationStatus | None] = []
    t = threading.Thread(target=lambda: outcome.append(_run(pipeline, op.id)))
    t.start()
    wait_until(lambda: pipeline.get(op.id).status == OperationStatus.running, 10, "the claim")
    with unit_of_work(pipeline.sessions) as session:
        cancel(session, ADMIN, RequestMeta(request_id="c"), op.id)
    t.join(30)
    assert outcome == [OperationStatus.cancelled]
    done = pipeline.get(op.id)
    assert done.error is not None
    assert done.error["code"] == "cancelled"
    assert len(pipeline.audit(op.id, "operation.cancelled")) == 1


def test_sweep_gives_up_on_an_operation_that_keeps_losing_its_worker(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    op = submit("label", _label(namespace, "never"))
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.id == op.id)
            .values(
                status=OperationStatus.running,
                attempts=pipeline.settings.operation_max_attempts,
                lock_token=uuid.uuid4(),
                lease_expires_at=func.now() - timedelta(seconds=1),
            )
        )
    report = sweep.sweep(pipeline.settings, pipeline.sessions)
    assert report.failed >= 1
    done = pipeline.get(op.id)
    assert done.status == OperationStatus.failed
    assert done.error is not None
    assert done.error["code"] == "worker_lost"
    pipeline.verify_audit()


def test_sweep_repairs_a_bulk_whose_releases_were_lost(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    items = [{"kind": "label", "params": _label(namespace, f"cm-{i}")} for i in range(5)]
    parent = submit("bulk", {"items": items, "concurrency": 2})
    assert _run(pipeline, parent.id) == OperationStatus.running  # claims the parent, releases two children
    children = pipeline.children(parent.id)
    released = [c.id for c in children if c.dispatched_at is not None]
    assert len(released) == 2
    # Both releases "lost" (as if the transaction that stamped them never committed).
    with unit_of_work(pipeline.sessions) as session:
        session.execute(update(Operation).where(Operation.id.in_(released)).values(dispatched_at=None))
    report = sweep.sweep(pipeline.settings, pipeline.sessions)
    assert report.released == 2
    assert report.sent == 0  # waiting children are not "never sent" top-level operations
    assert sum(c.dispatched_at is not None for c in pipeline.children(parent.id)) == 2

    # Children finished behind the parent's back (cancelled in SQL): the sweep finalises the parent.
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.parent_id == parent.id)
            .values(status=OperationStatus.cancelled, finished_at=func.now())
        )
    assert sweep.sweep(pipeline.settings, pipeline.sessions).finalised == 1
    done = pipeline.get(parent.id)
    assert done.status == OperationStatus.failed
    assert done.progress == {"total": 5, "succeeded": 0, "failed": 0, "cancelled": 5}


def test_a_cancel_during_a_failing_attempt_is_not_retried(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    _configmap(kube, namespace)
    faults.add(verb="patch", resource="configmaps", namespace=namespace, status=503, latency_seconds=1.0)
    op = submit("label", _label(namespace))
    outcome: list[OperationStatus | None] = []
    t = threading.Thread(target=lambda: outcome.append(_run(pipeline, op.id)))
    t.start()
    wait_until(lambda: pipeline.get(op.id).status == OperationStatus.running, 10, "the claim")
    with unit_of_work(pipeline.sessions) as session:
        cancel(session, ADMIN, RequestMeta(request_id="c"), op.id)
    t.join(30)
    assert outcome == [OperationStatus.cancelled]
    assert pipeline.get(op.id).status == OperationStatus.cancelled


def test_a_batch_of_bulk_items_runs_as_one_and_settles_each_item_on_its_own(
    pipeline: Pipeline, submit: Callable[..., Operation], kube: k8s.ApiClient, namespace: str, faults: Faults
) -> None:
    """`execute_many` (one message of released children): one claim, the handlers side by side, one settling
    transaction; yet each item keeps its own attempt, outcome, retry and audit rows, and the parent hands on
    exactly the slots the batch's finished items held."""
    other = f"{namespace}-b"
    k8s.CoreV1Api(kube).create_namespace({"metadata": {"name": other}})
    present = ["a", "b", "c", "e", "f", "g"]
    for name in present:
        _configmap(kube, namespace, name)
    _configmap(kube, other, "d")
    faults.add(verb="patch", resource="configmaps", namespace=other, status=503, count=1)
    items = [_label(namespace, n) for n in [*present, "missing"]] + [_label(other, "d")]
    parent = submit("bulk", {"items": [{"kind": "label", "params": p} for p in items], "concurrency": 4})
    assert _run(pipeline, parent.id) == OperationStatus.running
    assert sum(c.dispatched_at is not None for c in pipeline.children(parent.id)) == 4
    # Which four the release took depends on ids; make it a, b, the missing one and the failing one.
    batch = [c for c in pipeline.children(parent.id) if c.params["name"] in ("a", "b", "missing", "d")]
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.parent_id == parent.id)
            .values(dispatched_at=case((Operation.id.in_([c.id for c in batch]), func.now()), else_=None))
        )

    def expected(child: Operation) -> OperationStatus:
        if child.params["namespace"] == other:
            return OperationStatus.queued  # a 503: back in the queue with its own countdown
        if child.params["name"] == "missing":
            return OperationStatus.failed
        return OperationStatus.succeeded

    statuses = runner.execute_many(
        [c.id for c in batch], settings=pipeline.settings, sessions=pipeline.sessions
    )
    assert statuses == {c.id: expected(c) for c in batch}
    for child in batch:
        after = pipeline.get(child.id)
        assert after.attempts == 1
        actions = [e.action for e in pipeline.audit(child.id)]
        assert actions == [
            "operation.running",
            f"operation.{'retry' if after.status.value == 'queued' else after.status.value}",
        ]
    finished = [c for c in batch if expected(c) != OperationStatus.queued]
    progress = pipeline.get(parent.id).progress
    assert progress == {
        "total": 8,
        "succeeded": sum(expected(c) == OperationStatus.succeeded for c in batch),
        "failed": sum(expected(c) == OperationStatus.failed for c in batch),
        "cancelled": 0,
    }
    # The retried item's new send is stamped by this process's stamper, a moment after the send.
    assert stamping.flush_all()
    children = pipeline.children(parent.id)
    in_flight = [
        c
        for c in children
        if c.status == OperationStatus.running
        or (c.status == OperationStatus.queued and c.dispatched_at is not None)
    ]
    # The retried item keeps its slot; each finished one handed its slot to a waiting item.
    assert len(in_flight) == 4
    assert len([c for c in in_flight if c.id not in {b.id for b in batch}]) == len(finished)
    pipeline.verify_audit()

    retried = [c for c in batch if expected(c) == OperationStatus.queued]
    if retried:
        with unit_of_work(pipeline.sessions) as session:
            session.execute(
                update(Operation).where(Operation.id == retried[0].id).values(not_before=func.now())
            )
        assert _run(pipeline, retried[0].id) == OperationStatus.succeeded
        assert pipeline.get(retried[0].id).attempts == 2
