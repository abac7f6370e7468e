"""What an accept writes, statement by statement: the operations a transaction creates go out in one INSERT
(before the transaction's next statement, or at its commit), and the audit rows as its commit, in the last
statement, so no other writer waits on the chain's lock for whatever the request does before it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from podium_shared.audit.service import verify
from podium_shared.auth.principal import RequestMeta
from podium_shared.db.session import unit_of_work
from podium_shared.models.audit import AuditEvent
from podium_shared.models.operation import Operation
from podium_shared.operations import repository
from podium_shared.operations.service import accept_command, prepare_command, write_command
from sqlalchemy import Engine, event, func, select
from worker.fixtures import ADMIN, SIM_CLUSTER, Pipeline, write_label

pytestmark = pytest.mark.usefixtures("sim_cluster")


def _accept(session: Any, name: str) -> Operation:
    return accept_command(
        session,
        ADMIN,
        RequestMeta(request_id=f"at-commit-{name}", client_addr="127.0.0.1"),
        kind="label",
        cluster=SIM_CLUSTER,
        params={"namespace": "default", "kind": "configmap", "name": name, "labels": {"k": "v"}},
        idempotency_key=None,
    )


@pytest.fixture
def statements(pipeline: Pipeline) -> Iterator[list[str]]:
    """Every statement the pipeline's engine runs on the test's thread while the test does, COMMIT and
    ROLLBACK included. Only this thread's: the engine is shared with whatever else runs in this test
    process, and a fresh CI run once saw another thread's COMMIT land between the test's INSERT and its
    audit call."""
    engine = pipeline.sessions.kw["bind"]
    assert isinstance(engine, Engine)
    seen: list[str] = []
    owner = threading.get_ident()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == owner:
            seen.append(" ".join(statement.split()))

    def ended(name: str) -> Any:
        return lambda _conn: seen.append(name) if threading.get_ident() == owner else None

    listeners = [
        ("before_cursor_execute", before),
        ("commit", ended("COMMIT")),
        ("rollback", ended("ROLLBACK")),
    ]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    yield seen
    for name, fn in listeners:
        event.remove(engine, name, fn)


def test_the_chain_lock_is_taken_by_the_last_statements_before_the_commit(
    pipeline: Pipeline, statements: list[str]
) -> None:
    with unit_of_work(pipeline.sessions) as session:
        op = _accept(session, "at-commit")
        # Work the request does after the accept, before its commit, runs without the chain's lock.
        session.scalar(select(func.count()).select_from(Operation))
        assert not any("podium_audit_" in s for s in statements)
    # The lock, the chain's head and the INSERT are one call (migration 0010), right before the COMMIT.
    tail = statements[-2:]
    assert "podium_audit_append" in tail[0]
    assert tail[1] == "COMMIT"
    assert not any("podium_audit_chain_head" in s or "INSERT INTO audit_events" in s for s in statements)
    rows = pipeline.audit(op.id, "command.label")
    assert [(r.outcome, r.request_id) for r in rows] == [("accepted", "at-commit-at-commit")]
    pipeline.verify_audit()


def test_a_rolled_back_accept_writes_no_audit_row(pipeline: Pipeline) -> None:
    with pipeline.sessions() as session:
        rolled_back = _accept(session, "rolled-back").id
        session.rollback()
        # The same session's next transaction commits only its own row, never the rolled-back one's.
        committed = _accept(session, "after-rollback").id
        session.commit()
    assert pipeline.get(committed).id == committed
    with pipeline.sessions() as session:
        assert session.get(Operation, rolled_back) is None
        assert not session.scalars(select(AuditEvent).where(AuditEvent.operation_id == rolled_back)).all()
        assert verify(session).ok
    assert len(pipeline.audit(committed)) == 1


def _write(session: Any, name: str, **params: Any) -> Operation:
    return write_label(session, name, f"together-{name}", **params)


def _inserts(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("INSERT INTO operations")]


def test_the_operations_of_a_transaction_are_one_insert_at_its_commit(
    pipeline: Pipeline, statements: list[str]
) -> None:
    with unit_of_work(pipeline.sessions) as session:
        ops = [_write(session, f"together-{n}") for n in range(3)]
        assert not _inserts(statements)  # nothing yet: a later command may join them
    assert len(_inserts(statements)) == 1
    assert statements[-3:-1] == [_inserts(statements)[0], statements[-2]]
    assert "podium_audit_append" in statements[-2]
    with pipeline.sessions() as session:
        for op in ops:
            row = session.get_one(Operation, op.id)
            # Every column as the builder set it or as its default says; unset JSON is SQL NULL.
            assert (row.kind, row.status, row.attempts, row.queue, row.cancel_requested) == (
                "label",
                "queued",
                0,
                "commands",
                False,
            )
            assert row.params == op.params
            assert row.created_at == op.created_at
            assert row.error is None
            null_error = select(func.count()).where(Operation.id == op.id, Operation.error.is_(None))
            assert session.scalar(null_error) == 1
    assert [r.outcome for op in ops for r in pipeline.audit(op.id, "command.label")] == ["accepted"] * 3


def test_a_later_statement_of_the_transaction_sees_them_and_the_objects_are_the_sessions(
    pipeline: Pipeline, statements: list[str]
) -> None:
    with unit_of_work(pipeline.sessions) as session:
        first, second = _write(session, "seen-1"), _write(session, "seen-2")
        count = session.scalar(select(func.count()).where(Operation.id.in_([first.id, second.id])))
        assert count == 2
        assert len(_inserts(statements)) == 1
        # Persistent, as if flushed: the identity map answers, and a change is an UPDATE at the commit.
        assert session.get(Operation, first.id) is first
        first.cancel_requested = True
    assert pipeline.get(first.id).cancel_requested is True
    assert len(_inserts(statements)) == 1


def test_a_rolled_back_transaction_leaves_none_for_the_next(pipeline: Pipeline) -> None:
    with pipeline.sessions() as session:
        dropped = _write(session, "dropped")
        session.rollback()
        kept = _write(session, "kept")
        session.commit()
    with pipeline.sessions() as session:
        assert session.get(Operation, dropped.id) is None
        assert session.get(Operation, kept.id) is not None


def test_a_bulk_and_its_children_are_one_insert(pipeline: Pipeline, statements: list[str]) -> None:
    items = [
        {
            "kind": "label",
            "params": {
                "namespace": "default",
                "kind": "configmap",
                "name": f"bulk-{n}",
                "labels": {"k": "v"},
            },
        }
        for n in range(5)
    ]
    with unit_of_work(pipeline.sessions) as session:
        prepared = prepare_command(
            session,
            ADMIN,
            RequestMeta(request_id="together-bulk", client_addr="127.0.0.1"),
            kind="bulk",
            cluster=SIM_CLUSTER,
            params={"items": items},
            idempotency_key=None,
        )
        parent = write_command(session, prepared)
    assert len(_inserts(statements)) == 1
    with pipeline.sessions() as session:
        children = session.scalars(select(Operation).where(Operation.parent_id == parent.id)).all()
    assert sorted(c.params["name"] for c in children) == [f"bulk-{n}" for n in range(5)]


def test_an_operation_without_its_computed_columns_is_refused(pipeline: Pipeline) -> None:
    with pipeline.sessions() as session:
        op = Operation(kind="label", cluster=SIM_CLUSTER, params={}, requested_by="alice")
        repository.add_new(session, op)
        with pytest.raises(ValueError, match="computed default"):
            repository.write_new(session)
        session.rollback()
