"""An accepted command's audit row is written as its transaction commits: the chain's lock is taken by the
transaction's last statement, so no other writer waits on whatever the request does before its commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from podium_shared.audit.service import verify
from podium_shared.auth.principal import RequestMeta
from podium_shared.db.session import unit_of_work
from podium_shared.models.audit import AuditEvent
from podium_shared.models.operation import Operation
from podium_shared.operations.service import accept_command
from sqlalchemy import Engine, event, func, select
from worker.fixtures import ADMIN, SIM_CLUSTER, Pipeline

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
    """Every statement the pipeline's engine runs while the test does, COMMIT and ROLLBACK included."""
    engine = pipeline.sessions.kw["bind"]
    assert isinstance(engine, Engine)
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    def ended(name: str) -> Any:
        return lambda _conn: seen.append(name)

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
