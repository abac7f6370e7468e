"""The group commit's commit (`db.final.commit_in_one_round_trip`): BEGIN, the operations' INSERT, the audit
call and COMMIT reach Postgres as one round trip, write exactly what an ordinary commit writes, and a
failure anywhere in it leaves nothing written and a connection that is safe to reuse.

Round trips are counted on the wire: a proxy in front of Postgres reads the client's protocol messages and
counts its sync points (Sync, or a simple Query), each of which the client must wait on before it goes on."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.exc
from podium_shared.audit.service import record, verify
from podium_shared.db.final import commit_in_one_round_trip
from podium_shared.db.session import after_commit, make_engine
from podium_shared.models.audit import AuditEvent
from podium_shared.models.operation import Operation
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from support.tcp_proxy import TcpProxy
from worker.fixtures import Pipeline, write_label

pytestmark = pytest.mark.usefixtures("sim_cluster")

# Untyped messages before the typed ones: SSLRequest, GSSENCRequest, then the startup packet.
_UNTYPED_CODES = {80877103, 80877104}


class SyncCountingProxy(TcpProxy):
    """Forwards like TcpProxy and counts, per client connection, the frontend messages the client then waits
    on: Sync (extended protocol) and Query (simple protocol)."""

    def __init__(self, upstream_port: int) -> None:
        self.syncs: dict[int, int] = {}
        super().__init__(upstream_port)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        if src.getsockname()[1] != self.port:  # the server's direction: forward only
            super()._pump(src, dst)
            return
        with contextlib.suppress(OSError):
            self._count(src, dst)
        self._close(src, dst)

    def _count(self, src: socket.socket, dst: socket.socket) -> None:
        client = src.getpeername()[1]
        self.syncs[client] = 0
        buffer, typed = b"", False
        while data := src.recv(65536):
            dst.sendall(data)
            buffer += data
            while True:
                if not typed:
                    if len(buffer) < 8:
                        break
                    length, code = struct.unpack("!II", buffer[:8])
                    if len(buffer) < length:
                        break
                    buffer, typed = buffer[length:], code not in _UNTYPED_CODES
                    continue
                if len(buffer) < 5:
                    break
                kind, length = buffer[:1], struct.unpack("!I", buffer[1:5])[0]
                if len(buffer) < 1 + length:
                    break
                buffer = buffer[1 + length :]
                if kind in (b"S", b"Q"):
                    self.syncs[client] += 1

    def total(self) -> int:
        return sum(self.syncs.values())


@pytest.fixture
def proxied(pipeline: Pipeline) -> Iterator[tuple[sessionmaker[Session], SyncCountingProxy, Engine]]:
    engine = pipeline.sessions.kw["bind"]
    assert isinstance(engine, Engine)
    proxy = SyncCountingProxy(engine.url.port or 5432)
    # One pooled connection, as the group commit's writer uses it: a failure must not poison the next one.
    through = make_engine(
        engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        pool_pre_ping=False,
        pool_size=1,
        max_overflow=0,
    )
    with through.connect() as conn:  # the dialect's first-connect queries, before anything is counted
        conn.execute(text("SELECT 1"))
    yield sessionmaker(through, expire_on_commit=False), proxy, engine
    through.dispose()
    proxy.close()


def _write(session: Session, name: str, **params: Any) -> Operation:
    return write_label(session, name, f"one-trip-{name}", **params)


def _audit_only(session: Session, name: str, **fields: Any) -> Any:
    return record(
        session, actor="admin", action="test.one-round-trip", outcome="accepted", resource_name=name, **fields
    )


def _committed(engine: Engine, op_ids: list[Any]) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(Operation.id).where(Operation.id.in_(op_ids))).scalars().all()
    return sorted(rows)


def test_commands_commit_in_one_round_trip_where_an_ordinary_commit_takes_three(
    pipeline: Pipeline, proxied: tuple[sessionmaker[Session], SyncCountingProxy, Engine]
) -> None:
    factory, proxy, engine = proxied
    # The control: the same writes with an ordinary commit wait on the INSERT, the audit call and COMMIT.
    with factory() as session:
        ordinary = [_write(session, f"ordinary-{n}") for n in range(3)]
        before = proxy.total()
        session.commit()
        assert proxy.total() - before == 3
    with factory() as session:
        ops = [_write(session, f"together-{n}") for n in range(3)]
        before = proxy.total()
        commit_in_one_round_trip(session)
        assert proxy.total() - before == 1
    assert _committed(engine, [op.id for op in ops]) == sorted(op.id for op in ops)
    for op in ordinary + ops:
        assert [(r.action, r.outcome) for r in pipeline.audit(op.id)] == [("command.label", "accepted")]
    pipeline.verify_audit()


def test_a_transaction_that_has_sent_nothing_sends_its_begin_in_the_same_round_trip(
    pipeline: Pipeline, proxied: tuple[sessionmaker[Session], SyncCountingProxy, Engine]
) -> None:
    factory, proxy, engine = proxied
    ran: list[list[Any]] = []
    with factory() as session:
        events = [_audit_only(session, f"idle-{n}") for n in range(2)]
        before = proxy.total()
        after_commit(session, lambda: ran.append(_rows_named(engine, "idle-")))
        commit_in_one_round_trip(session)
        assert proxy.total() - before == 1
    # Each event got its id and hashes back before the after-commit work ran, which saw them committed.
    assert all(e.id and e.prev_hash and e.hash for e in events)
    assert events[1].prev_hash == events[0].hash
    assert ran == [[(e.id, e.hash) for e in events]]
    _assert_not_autocommit(factory, engine, "idle-rolled-back")
    pipeline.verify_audit()


def _assert_not_autocommit(factory: sessionmaker[Session], engine: Engine, name: str) -> None:
    """The pooled connection is in a transaction again: a written, then rolled-back, operation is gone."""
    with factory() as session:
        op_id = _write(session, name).id
        # A query of the session writes the operations it holds first (`repository.add_new`).
        assert session.scalar(select(Operation.id).where(Operation.id == op_id)) == op_id
        session.rollback()
    assert _committed(engine, [op_id]) == []


def _rows_named(engine: Engine, prefix: str) -> list[Any]:
    with engine.connect() as conn:
        stmt = select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.resource_name.startswith(prefix))
        return [tuple(row) for row in conn.execute(stmt.order_by(AuditEvent.id))]


@pytest.mark.parametrize("begun", [False, True], ids=["idle", "begun-by-a-read"])
def test_a_failing_statement_writes_nothing_and_the_next_transaction_is_not_in_autocommit(
    pipeline: Pipeline, proxied: tuple[sessionmaker[Session], SyncCountingProxy, Engine], begun: bool
) -> None:
    factory, _proxy, engine = proxied
    ran: list[str] = []
    tag = "begun" if begun else "idle"
    session = factory()
    if begun:
        session.execute(text("SELECT 1"))
    ops = [_write(session, f"failing-{tag}-{n}") for n in range(2)]
    # Too long for the audit row's cluster column: the database refuses it in the last statement.
    _audit_only(session, f"failing-{tag}", cluster="c" * 100)
    after_commit(session, lambda: ran.append("sent"))
    with pytest.raises(sqlalchemy.exc.DataError):
        commit_in_one_round_trip(session)
    session.rollback()
    session.close()
    assert ran == []
    assert _committed(engine, [op.id for op in ops]) == []  # the operations' INSERT went with it
    assert _rows_named(engine, f"failing-{tag}") == []
    # The failed connection was closed; the next commit gets a fresh one, in a transaction, not in autocommit.
    with factory() as session:
        again = _write(session, f"again-{tag}")
        commit_in_one_round_trip(session)
    assert _committed(engine, [again.id]) == [again.id]
    _assert_not_autocommit(factory, engine, f"rolled-back-{tag}")
    pipeline.verify_audit()


def test_a_lost_connection_is_invalidated_and_the_next_commit_gets_a_fresh_one(
    pipeline: Pipeline, proxied: tuple[sessionmaker[Session], SyncCountingProxy, Engine]
) -> None:
    factory, _proxy, engine = proxied
    session = factory()
    op = _write(session, "lost")
    pid = session.connection().connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    with pytest.raises(sqlalchemy.exc.OperationalError) as raised:
        commit_in_one_round_trip(session)
    assert raised.value.connection_invalidated
    session.rollback()
    session.close()
    assert _committed(engine, [op.id]) == []
    with factory() as session:
        again = _write(session, "after-lost")
        commit_in_one_round_trip(session)
    assert _committed(engine, [again.id]) == [again.id]
    with pipeline.sessions() as check:
        assert verify(check).ok
