"""Statements a transaction leaves for its commit, and a commit that sends them with COMMIT in one round trip.

Two kinds of rows are written as a transaction commits rather than when they are made: the operations it
created (`operations.repository.add_new`: one INSERT for all of them) and its audit rows (`audit.service`:
one call that takes the chain's lock, which only the commit should hold). Their domains register a
*final writer* here: a function that takes what the transaction holds and returns the one statement that
writes it, with what to do with the rows it returns.

An ordinary `session.commit()` runs them just before COMMIT (`_write_final`), one round trip each. The
API's group commit, which runs transactions back to back on one writer thread, uses
`commit_in_one_round_trip`: BEGIN (when the transaction has sent nothing yet), the final statements and
COMMIT go out as one psycopg pipeline, so a group of commands is one round trip to Postgres instead of four.
Each round trip cost the writer ~0.1 ms of CPU alone and up to ~0.4 ms with the event loop busy beside it
(it gives up the GIL and must win it back): docs/performance-accept.md, "Seventh pass".

What does not change: the statements, their order (the audit call last, so the chain's lock is held for the
COMMIT only), and atomicity (an explicit BEGIN … COMMIT; a failing statement aborts the ones after it and
the COMMIT, and the transaction is rolled back). A driver error is raised as SQLAlchemy raises it
(`DBAPIError.instance`: an `IntegrityError`, a `DataError`, an `OperationalError`). After any failure the
connection is invalidated rather than repaired: it may be left in pipeline mode, in autocommit or inside a
failed transaction, and the pool must never hand it out again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause


@dataclass(frozen=True)
class FinalStatement:
    statement: TextClause
    params: dict[str, Any]
    # Called once the statement has run, with the rows it returned (none for an INSERT); in a one-round-trip
    # commit, after COMMIT and before the session's after-commit work.
    done: Callable[[Sequence[Sequence[Any]]], None]


FinalWriter = Callable[[Session], FinalStatement | None]
_WRITERS: list[FinalWriter] = []
_LAST: list[FinalWriter] = []


def final_writer(fn: FinalWriter) -> FinalWriter:
    """Register `fn(session)`: the statement that writes what the transaction left for its commit, or None.
    It must hand its rows over once (a second call in the same transaction returns None)."""
    _WRITERS.append(fn)
    return fn


def last_final_writer(fn: FinalWriter) -> FinalWriter:
    """`final_writer`, run after every other one: the audit chain's lock belongs in the transaction's last
    statement, so that it is held for the COMMIT only."""
    _LAST.append(fn)
    return fn


def _collect(session: Session) -> list[FinalStatement]:
    return [st for writer in (*_WRITERS, *_LAST) if (st := writer(session)) is not None]


def run_now(session: Session, statement: FinalStatement) -> None:
    """Run one final statement on the session's connection at once (before a statement that must see it)."""
    result = session.execute(statement.statement, statement.params)
    returns_rows = result.returns_rows if isinstance(result, CursorResult) else True
    statement.done(result.all() if returns_rows else [])


@event.listens_for(Session, "before_commit")
def _write_final(session: Session) -> None:
    for statement in _collect(session):
        run_now(session, statement)
    # In `commit_in_one_round_trip` this finds nothing left: the statements were taken, and sent, before.


@cache
def _compiled(statement: TextClause, dialect: Dialect) -> str:
    return statement.compile(dialect=dialect).string


def commit_in_one_round_trip(session: Session) -> None:
    """`session.commit()`, with the final statements and COMMIT sent to Postgres in one round trip."""
    session.flush()  # whatever the ORM holds goes first, through the session, as an ordinary commit would
    connection = session.connection()
    raw = connection.connection.driver_connection
    if not isinstance(raw, psycopg.Connection) or _custom_begin(raw) or not (final := _collect(session)):
        # Nothing left for the commit, or a connection the pipeline does not suit: the ordinary commit,
        # whose `_write_final` runs whatever final statements there are.
        session.commit()
        return
    dialect = connection.dialect
    # psycopg sends BEGIN on its own before the first statement of a transaction and waits for it, also in
    # pipeline mode; a transaction that has sent nothing yet sends its own BEGIN in the pipeline instead.
    begin = raw.pgconn.transaction_status == TransactionStatus.IDLE
    cursors: list[psycopg.Cursor[Any]] = []
    try:
        if begin:
            raw.autocommit = True
        with raw.pipeline():
            if begin:
                raw.execute("BEGIN")
            for statement in final:
                cursors.append(raw.execute(_compiled(statement.statement, dialect), statement.params))
            raw.execute("COMMIT")
        # The pipeline's exit sent it all with one Sync and read every result back.
        rows = [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]
        if begin:
            raw.autocommit = False
    except BaseException as exc:
        # Whatever failed (a statement, COMMIT, the connection, an interruption), the connection may be in
        # pipeline mode, in autocommit or inside a failed transaction: it is closed, never reused, and
        # closing it ends its transaction on the server. The pool opens a fresh one for the next commit.
        connection.invalidate(exc if isinstance(exc, Exception) else None)
        if isinstance(exc, psycopg.Error):
            raise sa_exc.DBAPIError.instance(
                "; ".join(_compiled(st.statement, dialect) for st in final), None, exc, psycopg.Error,
                connection_invalidated=True, dialect=dialect,
            ) from exc  # fmt: skip
        raise
    for statement, returned in zip(final, rows, strict=True):
        statement.done(returned)
    # The database has committed; this ends the session's transaction (its COMMIT finds psycopg idle and
    # sends nothing) and runs its after-commit work.
    session.commit()


def _custom_begin(raw: psycopg.Connection[Any]) -> bool:
    # An isolation level or access mode set on the connection belongs in its BEGIN; keep psycopg's then.
    return raw.isolation_level is not None or raw.read_only is not None or raw.deferrable is not None
