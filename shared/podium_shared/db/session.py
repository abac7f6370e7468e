"""Engine, sessions and the after-commit buffer.

The boundary (a request dependency, a task wrapper) owns the transaction: it opens a session with
`unit_of_work()`, services only `flush()`, and the boundary commits. Anything that must not leave before
the commit (a Celery send, a Redis publish) is registered with `after_commit(session, fn)` and runs only
once the commit succeeded; on rollback it is dropped. A crash between commit and send is repaired by the
operation sweep, which resends every committed-but-undispatched operation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from podium_shared.settings import get_settings

log = logging.getLogger(__name__)

_AFTER_COMMIT = "podium_after_commit"
T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


# Unbounded on purpose: an evicted engine would be garbage-collected with its pooled connections still
# open. A process talks to one database (tests to a few dozen throwaway ones), so the cache stays small.
@cache
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url), expire_on_commit=False)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    if url is None:
        url = get_settings().database_url
    return _factory(url)


@cache
def writer_session_factory(url: str) -> sessionmaker[Session]:
    """For one writer thread that runs transactions back to back (the API's group commit): a small pool
    without the pre-ping, which would cost a round trip per transaction. A dead connection fails its
    transaction instead, and the writer must be able to run that again (the group commit does)."""
    return sessionmaker(make_engine(url, pool_pre_ping=False, pool_size=2), expire_on_commit=False)


def after_commit(session: Session, fn: Callable[[], object]) -> None:
    _begun(session)
    session.info.setdefault(_AFTER_COMMIT, []).append(fn)


def _begun(session: Session) -> None:
    # What a transaction keeps is dropped when it ends (`_drop_after_commit`, `_drop_scoped`), and a session
    # that has run no statement has no transaction yet whose end would be seen: a rollback then would
    # leave the work to the session's next commit.
    if not session.in_transaction():
        session.begin()


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks: list[Callable[[], object]] = session.info.pop(_AFTER_COMMIT, [])
    for fn in callbacks:
        try:
            fn()
        except Exception:
            # The transaction is already durable; the sweep delivers whatever this failed to send.
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_transaction_end")
def _drop_after_commit(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the callbacks have run (`after_commit` comes first); after a rollback they never will.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


_SCOPED = "podium_transaction_scoped"


def transaction_scoped(session: Session, key: str, factory: Callable[[], T]) -> tuple[T, bool]:
    """A value that lives exactly as long as the session's current transaction (the audit rows and the
    operations it will write, the operation events it publishes after its commit): created by `factory`
    on first use, dropped when the transaction ends, committed or rolled back, so no later transaction can
    see it. Returns (value, whether this call created it)."""
    _begun(session)
    values: dict[str, Any] = session.info.setdefault(_SCOPED, {})
    if key in values:
        return values[key], False
    value = values[key] = factory()
    return value, True


def transaction_scoped_value(session: Session, key: str) -> Any:
    """The `transaction_scoped` value under `key` if this transaction has one, else None (never creates it:
    for hooks that run on every statement of every session)."""
    values: dict[str, Any] | None = session.info.get(_SCOPED)
    return None if values is None else values.get(key)


@event.listens_for(Session, "after_transaction_end")
def _drop_scoped(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the root transaction (Podium opens no savepoints)
        session.info.pop(_SCOPED, None)


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session] | None = None, *, commit: Callable[[Session], None] = Session.commit
) -> Iterator[Session]:
    """One transaction: commit on success (with `commit`: `db.final.commit_in_one_round_trip` for a writer
    that runs transactions back to back), roll back on any exception."""
    session = (factory or session_factory())()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
