"""Cancelling one item of a bulk locks the parent before the item, like a cancel of the parent (which
locks itself, then updates its queued children). In the other order the two cancels deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from podium_shared.auth.principal import RequestMeta
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import runner
from podium_shared.operations.service import cancel
from sqlalchemy import select, text
from worker.fixtures import ADMIN, Pipeline, wait_until

pytestmark = pytest.mark.usefixtures("sim_cluster")


def test_cancelling_a_bulk_item_waits_for_the_parent_before_locking_the_item(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    items = [{"kind": "label", "params": {"namespace": namespace, "kind": "configmap", "name": f"c-{i}",
                                          "labels": {"k": "v"}}} for i in range(2)]  # fmt: skip
    parent = submit("bulk", {"items": items, "concurrency": 1})
    assert runner.execute(parent.id, settings=pipeline.settings, sessions=pipeline.sessions) == (
        OperationStatus.running
    )
    child = next(c for c in pipeline.children(parent.id) if c.dispatched_at is not None)
    errors: list[BaseException] = []

    def cancel_child() -> None:
        try:
            with unit_of_work(pipeline.sessions) as session:
                cancel(session, ADMIN, RequestMeta(request_id="t"), child.id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with pipeline.sessions() as holder:  # stands in for a cancel of the parent, between its two steps
        holder.execute(select(Operation.id).where(Operation.id == parent.id).with_for_update())
        worker = threading.Thread(target=cancel_child)
        worker.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )

        def lock_waits() -> int:
            # A transaction of its own each time: a backend snapshots pg_stat_activity at its first read in
            # a transaction, so polling inside one transaction would only ever see that first moment.
            with pipeline.sessions() as probe:
                return int(probe.scalar(waiting) or 0)

        wait_until(lock_waits, 10, "the item's cancel to wait on the parent")
        # The parent's cancel now updates its queued children: the item must not be locked already.
        holder.execute(
            text("SELECT id FROM operations WHERE id = :id FOR UPDATE NOWAIT"), {"id": child.id}
        ).one()
        holder.rollback()
    worker.join(30)
    assert errors == []
    assert pipeline.get(child.id).status == OperationStatus.cancelled
    assert pipeline.get(parent.id).progress == {"total": 2, "succeeded": 0, "failed": 0, "cancelled": 1}
