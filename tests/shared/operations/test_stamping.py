"""`dispatched_at` is stamped after the send by the process's stamper, many ids per transaction, and a
late stamp never touches a row that moved on."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from podium_shared.db.session import unit_of_work
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations import stamping
from sqlalchemy import Engine, event, update
from worker.fixtures import Pipeline

pytestmark = pytest.mark.usefixtures("sim_cluster")


def _label(name: str) -> dict[str, object]:
    return {"namespace": "default", "kind": "configmap", "name": name, "labels": {"k": "v"}}


@pytest.fixture
def engine(pipeline: Pipeline) -> Engine:
    bind = pipeline.sessions.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


@pytest.fixture
def stamp_statements(engine: Engine) -> Iterator[list[str]]:
    """Every stamping UPDATE this engine runs while the test does."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE operations SET dispatched_at"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    yield seen
    event.remove(engine, "before_cursor_execute", before)


def test_an_accepted_command_is_stamped_after_its_send(
    pipeline: Pipeline, submit: Callable[..., Operation]
) -> None:
    op = submit("label", _label("stamped"))
    assert stamping.flush_all()
    assert pipeline.get(op.id).dispatched_at is not None


def test_ids_handed_over_together_are_stamped_in_one_statement(
    pipeline: Pipeline, submit: Callable[..., Operation], engine: Engine, stamp_statements: list[str]
) -> None:
    ops = [submit("label", _label(f"batch-{i}")) for i in range(20)]
    assert stamping.flush_all()
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation).where(Operation.id.in_([op.id for op in ops])).values(dispatched_at=None)
        )
    stamp_statements.clear()
    stamper = stamping.stamper(engine)
    # Held by the test, the stamper's thread cannot take the first id before the last is added.
    with stamper._cond:
        for op in ops:
            stamper.add([op.id])
    assert stamper.flush()
    assert len(stamp_statements) == 1
    assert all(pipeline.get(op.id).dispatched_at is not None for op in ops)


def test_a_late_stamp_leaves_a_claimed_or_stamped_row_alone(
    pipeline: Pipeline, submit: Callable[..., Operation], engine: Engine
) -> None:
    claimed, stamped = submit("label", _label("claimed")), submit("label", _label("restamped"))
    assert stamping.flush_all()
    with unit_of_work(pipeline.sessions) as session:
        session.execute(
            update(Operation)
            .where(Operation.id == claimed.id)
            .values(status=OperationStatus.running, dispatched_at=None)
        )
    before = pipeline.get(stamped.id).dispatched_at
    stamping.stamp_later(engine, [claimed.id, stamped.id, uuid.uuid4()])
    assert stamping.flush_all()
    assert pipeline.get(claimed.id).dispatched_at is None
    assert pipeline.get(stamped.id).dispatched_at == before
