"""The worker's Celery tasks: thin wrappers that take an id and call the shared pipeline."""

from __future__ import annotations

import uuid

from celery import Celery
from podium_shared.operations import runner, sweep
from podium_shared.operations.celery_app import EXECUTE_BATCH_TASK, EXECUTE_TASK, SWEEP_TASK
from sqlalchemy.orm import Session, sessionmaker


def register_tasks(app: Celery, sessions: sessionmaker[Session]) -> None:
    # Celery retries are not used: a transient failure is recorded on the operation and re-sent with a
    # countdown by the runner, so the attempt history lives in Postgres, not in a message header.
    @app.task(name=EXECUTE_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def execute(operation_id: str) -> str | None:
        status = runner.execute(uuid.UUID(operation_id), sessions=sessions)
        return status.value if status is not None else None

    @app.task(name=EXECUTE_BATCH_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def execute_batch(operation_ids: list[str]) -> dict[str, str | None]:
        statuses = runner.execute_many([uuid.UUID(i) for i in operation_ids], sessions=sessions)
        return {str(k): (v.value if v is not None else None) for k, v in statuses.items()}

    @app.task(name=SWEEP_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_sweep() -> dict[str, int]:
        report = sweep.sweep(sessions=sessions)
        return {"requeued": report.requeued, "sent": report.sent, "resent": report.resent}
