"""Lock order in the sweep: every row lock of a transaction comes before the audit chain's advisory lock.

A worker finishing a bulk child locks the parent row, then takes the audit lock. A sweep that took the audit
lock (finalising one parent) and then waited for another parent's row would deadlock against it. Checked on
the SQL the sweep sends, so the test does not depend on winning a race."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import runner, sweep
from sqlalchemy import Engine, create_engine, event, func, update
from sqlalchemy.orm import Session, sessionmaker
from worker.fixtures import Pipeline

pytestmark = pytest.mark.usefixtures("sim_cluster")


class _Trace:
    """The statements of each transaction, in the order the sweep sent them."""

    def __init__(self, engine: Engine) -> None:
        self.transactions: list[list[str]] = [[]]
        self.parents_counted: list[str] = []  # the parent of each progress UPDATE, in order
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        self.transactions[-1].append(" ".join(statement.split()))
        if "jsonb_build_object" in statement:
            self.parents_counted.append(str(params["parent"]))

    def _end(self, _conn: Any) -> None:
        self.transactions.append([])

    def row_locks_after_the_audit_lock(self) -> list[str]:
        late: list[str] = []
        for statements in self.transactions:
            locked = False
            for sql in statements:
                if "pg_advisory_xact_lock" in sql:
                    locked = True
                elif locked and ("jsonb_build_object" in sql or "FOR UPDATE" in sql):
                    # A parent's progress UPDATE, or a SELECT … FOR UPDATE: a lock on a row not yet held.
                    # (Writes to rows the sweep already locked with its first SELECT wait on nobody.)
                    late.append(sql)
        return late


@pytest.fixture
def traced(pipeline: Pipeline) -> Iterator[tuple[sessionmaker[Session], _Trace]]:
    engine = create_engine(pipeline.settings.database_url)
    yield sessionmaker(engine, expire_on_commit=False), _Trace(engine)
    engine.dispose()


def _bulk_whose_only_child_lost_its_worker(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str, name: str, lost_seconds_ago: int
) -> uuid.UUID:
    item = {"kind": "label", "params": {"namespace": namespace, "kind": "configmap", "name": name,
                                        "labels": {"k": "v"}}}  # fmt: skip
    parent = submit("bulk", {"items": [item], "concurrency": 1})
    assert runner.execute(parent.id, settings=pipeline.settings, sessions=pipeline.sessions) == (
        OperationStatus.running
    )
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.parent_id == parent.id)
            .values(
                status=OperationStatus.running,
                attempts=pipeline.settings.operation_max_attempts,
                lock_token=uuid.uuid4(),
                lease_expires_at=func.now() - timedelta(seconds=lost_seconds_ago),
            )
        )
    return parent.id


def test_sweep_giving_up_on_children_of_two_bulks_locks_both_parents_before_auditing(
    pipeline: Pipeline,
    submit: Callable[..., Operation],
    namespace: str,
    traced: tuple[sessionmaker[Session], _Trace],
) -> None:
    first = _bulk_whose_only_child_lost_its_worker(pipeline, submit, namespace, "a", 20)
    second = _bulk_whose_only_child_lost_its_worker(pipeline, submit, namespace, "b", 10)
    # The sweep takes children in lease order: make that the opposite of their parents' id order.
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.parent_id == max(first, second, key=str))
            .values(lease_expires_at=func.now() - timedelta(seconds=30))
        )
    sessions, trace = traced

    report = sweep.sweep(pipeline.settings, sessions)

    assert report.errors == []
    assert report.failed >= 2
    assert trace.row_locks_after_the_audit_lock() == []
    # Parents locked in id order whatever order their children's leases ran out in (two sweepers).
    assert trace.parents_counted == sorted([str(first), str(second)])
    for parent_id in (first, second):
        done = pipeline.get(parent_id)
        assert done.status == OperationStatus.failed
        assert done.progress == {"total": 1, "succeeded": 0, "failed": 1, "cancelled": 0}
        assert len(pipeline.audit(parent_id, "operation.failed")) == 1
    pipeline.verify_audit()


def test_sweep_recounts_a_running_bulk_from_its_children(
    pipeline: Pipeline, submit: Callable[..., Operation], namespace: str
) -> None:
    # One recount (operations.bulk.recount) serves the claim, the cancel and the sweep: the children are the
    # truth, and a parent whose counters drifted (a child finished without its parent being told) is
    # repaired the next time the sweep looks at it.
    items = [{"kind": "label", "params": {"namespace": namespace, "kind": "configmap", "name": f"d-{i}",
                                          "labels": {"k": "v"}}} for i in range(3)]  # fmt: skip
    parent = submit("bulk", {"items": items, "concurrency": 1})
    assert runner.execute(parent.id, settings=pipeline.settings, sessions=pipeline.sessions) == (
        OperationStatus.running
    )
    released = [c.id for c in pipeline.children(parent.id) if c.dispatched_at is not None]
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.id.in_(released))
            .values(status=OperationStatus.succeeded, finished_at=func.now())
        )
    report = sweep.sweep(pipeline.settings, pipeline.sessions)
    assert report.released == 1
    after = pipeline.get(parent.id)
    assert after.status == OperationStatus.running
    assert after.progress == {"total": 3, "succeeded": 1, "failed": 0, "cancelled": 0}
