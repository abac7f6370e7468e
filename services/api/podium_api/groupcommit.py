"""Group commit: the commands that reach one API process together are written in one transaction.

An accepted command used to be a transaction of its own, run in the request's worker thread: a connection
check-out, BEGIN, the cluster read, the operation's INSERT, the audit chain's lock and row, COMMIT, plus two
thread-pool hand-offs to get there and back. Each of those costs about the same for one command as for
thirty, so one writer thread per process takes every command that is waiting when it looks, writes them
all in one transaction and answers them together (docs/performance-accept.md, "Group commit").

What does not change for a caller:
- a 202 still means the operation is committed (answers are released only after COMMIT returns), and the
  Celery sends still run after that commit (`db.session.after_commit`);
- a refusal is the command's own: `prepare` only reads, so a command refused by it leaves the shared
  transaction as it was and the others are written;
- anything that fails while writing (a deadlock with another process's group over idempotency keys, a
  lost connection) rolls the whole group back, and each of its commands is then run alone, in a
  transaction of its own, exactly as before group commit existed; each caller gets its own outcome.

There is no wait for company: the writer takes what is queued and goes, so one command alone is answered as
fast as before, and under load the groups grow by themselves while the previous one commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from podium_shared.db.final import commit_in_one_round_trip
from podium_shared.db.session import unit_of_work
from podium_shared.errors import PodiumError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("podium_api")

P = TypeVar("P")
R = TypeVar("R")

# Bounds one transaction (and the time its chain lock is held); more waiting commands form the next group.
MAX_GROUP = 64


@dataclass
class Command(Generic[P, R]):
    """One caller's work. `prepare(session)` reads and may refuse (raise a PodiumError); `write(session,
    prepared)` writes and must not refuse; `done(result)` turns what was written into the caller's answer
    (in the writer thread, before COMMIT; the answer is released after it)."""

    prepare: Callable[[Session], P]
    write: Callable[[Session, P], R]
    done: Callable[[R], Any] = lambda result: result


@dataclass
class _Pending:
    command: Command[Any, Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    outcome: Any = None
    failed: BaseException | None = None


class GroupCommit:
    def __init__(self, factory: sessionmaker[Session], max_group: int = MAX_GROUP) -> None:
        self._factory = factory
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups = 0  # transactions committed, for tests and the benchmark
        self.fallbacks = 0  # groups rolled back and replayed one command at a time

    async def run(self, command: Command[P, R]) -> Any:
        """The command's answer once its transaction has committed, or its refusal."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        pending = _Pending(command, loop, loop.create_future())
        self._queue.put(pending)
        # Shielded: a client that goes away does not cancel a command the writer may already have written.
        return await asyncio.shield(pending.future)

    def close(self, timeout: float = 10) -> None:
        """Write what is queued, then stop the writer."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="podium-group-commit", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self._max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            try:
                self._write(group)
            except BaseException:  # never lose the writer: every caller of the group still gets an answer
                log.exception("group commit: unexpected failure")
                for pending in group:
                    if pending.failed is None and pending.outcome is None:
                        pending.failed = RuntimeError("the command could not be written")
            _answer(group)
            if stop:
                return

    def _write(self, group: list[_Pending]) -> None:
        if len(group) > 1:
            try:
                self._write_together(group)
                self.groups += 1
                return
            except Exception:
                log.warning(
                    "group commit: %d commands failed together; writing each alone", len(group), exc_info=True
                )
                self.fallbacks += 1
                for pending in group:
                    pending.outcome, pending.failed = None, None
        for pending in group:
            try:
                self._write_together([pending])
                self.groups += 1
            except BaseException as exc:
                pending.outcome, pending.failed = None, exc

    def _write_together(self, group: list[_Pending]) -> None:
        """One transaction; a refusal by `prepare` is that command's answer, any other failure raises (the
        transaction is rolled back by `unit_of_work`)."""
        written: list[tuple[_Pending, Any]] = []
        with unit_of_work(self._factory, commit=commit_in_one_round_trip) as session:
            for pending in group:
                try:
                    prepared = pending.command.prepare(session)
                except PodiumError as exc:
                    pending.failed = exc
                    continue
                written.append((pending, pending.command.write(session, prepared)))
            # One flush for whatever the commands left to the ORM (the operations they create are written
            # together, in one INSERT, at the latest by the commit: `operations.repository.add_new`).
            # Answers are built from what was written, before COMMIT, and released only after it.
            session.flush()
            answers = [(pending, pending.command.done(result)) for pending, result in written]
        for pending, outcome in answers:
            pending.outcome = outcome


def _answer(group: list[_Pending]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in group:
        by_loop.setdefault(pending.loop, []).append(pending)
    for loop, answered in by_loop.items():
        try:
            # One wake-up of each event loop for the whole group, not one per command.
            loop.call_soon_threadsafe(_settle, answered)
        except RuntimeError:  # that loop is closed: nobody is waiting any more
            log.debug("group commit: %d answers for a closed event loop", len(answered))


def _settle(answered: list[_Pending]) -> None:
    for pending in answered:
        if pending.future.done():
            continue
        if pending.failed is not None:
            pending.future.set_exception(pending.failed)
        else:
            pending.future.set_result(pending.outcome)
