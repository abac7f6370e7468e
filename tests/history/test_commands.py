"""delete_training_run / restore_training_run through the real pipeline (API accept → Celery worker →
MLflow server): audited, idempotent, retried while MLflow is unreachable."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mlflow import MlflowClient
from podium_shared.clusters.service import register_cluster
from podium_shared.db.session import unit_of_work
from podium_shared.embedded import EmbeddedMlflow
from podium_shared.models.operation import Operation, OperationStatus
from support.tcp_proxy import TcpProxy
from support.waiting import wait_until
from worker.fixtures import Pipeline

from history.helpers import experiment, make_run

# The first test of a worker that needs the MLflow server pays its start-up (minutes on a loaded machine).
pytestmark = [pytest.mark.usefixtures("worker"), pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def proxy(mlflow_server: EmbeddedMlflow) -> Iterator[TcpProxy]:
    p = TcpProxy(mlflow_server.port)
    yield p
    p.close()


@pytest.fixture(scope="module")
def mlflow_cluster(pipeline: Pipeline, sim_kubeconfig, proxy: TcpProxy) -> str:
    """A cluster whose own tracking server is the test's MLflow (through a proxy that can fail)."""
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(
            session, "hist", kubeconfig_path=str(sim_kubeconfig), context="kubesim",
            mlflow_tracking_uri=proxy.url,
        )  # fmt: skip
    return "hist"


def _succeeded(pipeline: Pipeline, op: Operation) -> Operation:
    done = pipeline.wait_finished(op.id, timeout=120)
    assert done.status == OperationStatus.succeeded, done.error
    actions = [e.action for e in pipeline.audit(op.id)]
    assert actions[0] == f"command.{op.kind}"
    assert actions[-1] == "operation.succeeded"
    return done


def test_delete_and_restore_are_audited_and_idempotent(
    pipeline: Pipeline, submit: Callable[..., Operation], mlflow: MlflowClient, mlflow_cluster: str
) -> None:
    eid, _ = experiment(mlflow, "delete")
    run_id = make_run(mlflow, eid, name="to-delete")

    first = _succeeded(pipeline, submit("delete_training_run", {"run_id": run_id}, cluster=mlflow_cluster))
    assert first.result == {"run_id": run_id, "lifecycle_stage": "deleted", "changed": True}
    assert mlflow.get_run(run_id).info.lifecycle_stage == "deleted"
    audit = pipeline.audit(first.id, "command.delete_training_run")[0]
    assert (audit.resource_kind, audit.resource_name) == ("MlflowRun", run_id)

    # Deleting a deleted run succeeds and changes nothing.
    again = _succeeded(pipeline, submit("delete_training_run", {"run_id": run_id}, cluster=mlflow_cluster))
    assert again.result == {"run_id": run_id, "lifecycle_stage": "deleted", "changed": False}

    restored = _succeeded(
        pipeline, submit("restore_training_run", {"run_id": run_id}, cluster=mlflow_cluster)
    )
    assert restored.result["changed"] is True
    assert mlflow.get_run(run_id).info.lifecycle_stage == "active"
    pipeline.verify_audit()


def test_an_unknown_run_fails_at_once(
    pipeline: Pipeline, submit: Callable[..., Operation], mlflow_cluster: str
) -> None:
    op = submit("delete_training_run", {"run_id": "f" * 32}, cluster=mlflow_cluster)
    done = pipeline.wait_finished(op.id, timeout=120)
    assert done.status == OperationStatus.failed
    assert done.attempts == 1
    assert done.error is not None
    assert done.error["code"] == "mlflow_not_found"


def test_unreachable_mlflow_is_retried_until_it_is_back(
    pipeline: Pipeline,
    submit: Callable[..., Operation],
    mlflow: MlflowClient,
    mlflow_cluster: str,
    proxy: TcpProxy,
) -> None:
    eid, _ = experiment(mlflow, "retry")
    run_id = make_run(mlflow, eid, name="flaky")
    proxy.cut()
    try:
        op = submit("delete_training_run", {"run_id": run_id}, cluster=mlflow_cluster)
        wait_until(lambda: pipeline.get(op.id).attempts >= 2, 120, "a second attempt")
        assert pipeline.get(op.id).status == OperationStatus.queued or pipeline.get(op.id).attempts >= 2
    finally:
        proxy.down.clear()
    done = _succeeded(pipeline, op)
    assert done.attempts >= 2
    assert mlflow.get_run(run_id).info.lifecycle_stage == "deleted"
