"""The training-history command kinds: `delete_training_run` and `restore_training_run`.

They go through the operation pipeline like any change, so they are audited, retried on MLflow's 5xx or
silence (`MlflowUnavailable` is a TransientError), and idempotent: MLflow's delete and restore only set
the run's lifecycle stage, and the handler first reads the stage, so deleting a deleted run (a retry after
a lost answer, or a second click) succeeds without a second write. The operation's cluster names the
tracking server: the cluster's own, else the global MLFLOW_TRACKING_URI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium_shared.history.client import Tracking, tracking_for
from podium_shared.history.schemas import RunRef
from podium_shared.models.cluster import Cluster
from podium_shared.operations.kinds import CommandKind, Target

if TYPE_CHECKING:
    from podium_shared.operations.context import ExecutionContext


def _tracking(ctx: ExecutionContext) -> Tracking:
    with ctx.sessions() as session:
        row = session.get(Cluster, ctx.cluster)
        own = row.mlflow_tracking_uri if row is not None else None
    return tracking_for(own or ctx.settings.mlflow_tracking_uri, ctx.settings.mlflow_request_timeout_seconds)


def _set_stage(ctx: ExecutionContext, params: Any, *, deleted: bool) -> dict[str, Any]:
    p = params if isinstance(params, RunRef) else RunRef.model_validate(params)
    t = _tracking(ctx)
    run = t.call("reading the run", t.client.get_run, p.run_id)
    want = "deleted" if deleted else "active"  # mlflow.entities.LifecycleStage
    if run.info.lifecycle_stage == want:
        return {"run_id": p.run_id, "lifecycle_stage": want, "changed": False}
    if deleted:
        t.call("deleting the run", t.client.delete_run, p.run_id)
    else:
        t.call("restoring the run", t.client.restore_run, p.run_id)
    ctx.log(f"run {p.run_id} {'deleted' if deleted else 'restored'} on {t.uri}")
    return {"run_id": p.run_id, "lifecycle_stage": want, "changed": True}


def _delete(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    return _set_stage(ctx, params, deleted=True)


def _restore(ctx: ExecutionContext, params: Any) -> dict[str, Any]:
    return _set_stage(ctx, params, deleted=False)


def _target(p: RunRef) -> Target:
    return Target(None, "MlflowRun", p.run_id)


KINDS: list[CommandKind] = [
    CommandKind(name="delete_training_run", params=RunRef, handler=_delete, target=_target),
    CommandKind(name="restore_training_run", params=RunRef, handler=_restore, target=_target),
]
