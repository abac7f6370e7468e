"""Nothing accepted is lost, nothing is applied twice: a worker killed mid-task, Redis restarted (with and
without its data), and an API that died between its commit and the send."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from podium_shared.auth.principal import RequestMeta
from podium_shared.db.session import unit_of_work
from podium_shared.embedded import EmbeddedRedis
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations.service import accept_command
from support.waiting import wait_until
from worker.fixtures import ADMIN, SIM_CLUSTER, Faults, Pipeline, WorkerProcess


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """This module restarts Redis, so it gets a server of its own rather than the session's."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis-recovery")).start()
    yield server
    server.stop()


def _configmap(kube: k8s.ApiClient, namespace: str, name: str) -> None:
    k8s.CoreV1Api(kube).create_namespaced_config_map(namespace, {"metadata": {"name": name}})


def _label(namespace: str, name: str, value: str = "v") -> dict[str, object]:
    return {"namespace": namespace, "kind": "configmap", "name": name, "labels": {"mark": value}}


def test_worker_killed_mid_task_completes_exactly_once(  # noqa: PLR0917 - fixtures arrive as parameters
    pipeline: Pipeline,
    submit: Callable[..., Operation],
    worker: WorkerProcess,
    kube: k8s.ApiClient,
    namespace: str,
    faults: Faults,
) -> None:
    _configmap(kube, namespace, "cm")
    # The patch hangs in kubesim long enough for us to kill the worker while it waits for the answer.
    rule = faults.add(verb="patch", resource="configmaps", namespace=namespace, latency_seconds=30)
    op = submit("label", _label(namespace, "cm"))
    wait_until(lambda: pipeline.get(op.id).status == OperationStatus.running, 20, "the operation to start")
    wait_until(lambda: any(r["id"] == rule and r["hits"] == 0 for r in faults.rules()), 5, "the rule")
    worker.kill()
    faults.remove(rule)
    assert pipeline.get(op.id).status == OperationStatus.running  # nobody left to finish it

    worker.start()
    done = pipeline.wait_finished(op.id)
    assert done.status == OperationStatus.succeeded, done.error
    assert done.attempts == 2
    # Exactly once: one requeue (lease expired), one success, one effect.
    assert len(pipeline.audit(op.id, "operation.requeued")) == 1
    assert len(pipeline.audit(op.id, "operation.succeeded")) == 1
    cm = k8s.CoreV1Api(kube).read_namespaced_config_map("cm", namespace)
    assert cm.metadata.labels == {"mark": "v"}
    pipeline.verify_audit()


@pytest.mark.parametrize("keep_data", [True, False], ids=["redis-restarted", "redis-lost-its-data"])
def test_operations_queued_across_a_redis_restart_all_complete(  # noqa: PLR0917 - fixtures as parameters
    pipeline: Pipeline,
    submit: Callable[..., Operation],
    worker: WorkerProcess,
    redis_server: EmbeddedRedis,
    kube: k8s.ApiClient,
    namespace: str,
    keep_data: bool,
) -> None:
    names = [f"cm-{i}" for i in range(10)]
    for name in names:
        _configmap(kube, namespace, name)
    worker.kill()  # messages pile up in Redis with nobody consuming them
    ops = [submit("label", _label(namespace, name)) for name in names[:5]]

    redis_server.stop(kill=True)
    if not keep_data:
        for path in Path(redis_server.data_dir).iterdir():
            if path.name.startswith("appendonly"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    # Accepted while Redis is down: the commit stands, the send fails, the sweep sends it later.
    ops += [submit("label", _label(namespace, name)) for name in names[5:]]
    redis_server.start()
    worker.start()

    for op in ops:
        done = pipeline.wait_finished(op.id, timeout=60)
        assert done.status == OperationStatus.succeeded, done.error
        assert done.attempts == 1
    labelled = k8s.CoreV1Api(kube).list_namespaced_config_map(namespace, label_selector="mark=v").items
    assert sorted(c.metadata.name for c in labelled) == names


def test_commit_without_dispatch_is_sent_by_the_sweep(
    pipeline: Pipeline, worker: WorkerProcess, kube: k8s.ApiClient, namespace: str
) -> None:
    _configmap(kube, namespace, "cm")
    with unit_of_work(pipeline.sessions) as session:
        op = accept_command(
            session,
            ADMIN,
            RequestMeta(request_id="api-died"),
            kind="label",
            cluster=SIM_CLUSTER,
            params=_label(namespace, "cm"),
            idempotency_key=None,
        )
        op_id = op.id
        # The API process dies right after its commit: the after-commit send never happens.
        session.info.pop("podium_after_commit")
    assert pipeline.get(op_id).dispatched_at is None
    done = pipeline.wait_finished(op_id)
    assert done.status == OperationStatus.succeeded
    assert done.dispatched_at is not None
    assert k8s.CoreV1Api(kube).read_namespaced_config_map("cm", namespace).metadata.labels == {"mark": "v"}
