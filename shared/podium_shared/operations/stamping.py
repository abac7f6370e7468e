"""Stamping `dispatched_at` after a send, in batches, on a thread of the process's own.

The stamp only tells the sweep "a message went out, do not send another yet": a missing or late stamp
costs at most a duplicate message, which the runner's guarded claim makes harmless. So the thread that
sent the message does not wait for it: it hands the id to the stamper of its database, which writes every
id handed to it since its last write in one `UPDATE … WHERE id = ANY(…)` (one transaction for many
accepted commands instead of one each: a pool checkout, BEGIN, UPDATE and COMMIT per command were a fifth of
an accept's CPU). If the process dies with ids not yet stamped, those rows keep `dispatched_at` NULL and the
sweep sends them once the grace period is over, exactly as for a process that died before its send."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from collections.abc import Iterable

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

# The guard keeps a stamp that arrives late from touching a row a worker has claimed since (status) or
# that a retry has stamped itself (dispatched_at).
_STAMP = text(
    "UPDATE operations SET dispatched_at = now() "
    "WHERE id = ANY(:ids) AND status = 'queued' AND dispatched_at IS NULL"
)
# One statement's worth; a backlog larger than this is written in several.
_MAX_BATCH = 1000
# How long the stamper lets ids gather after the first one before it writes: under a steady stream of
# accepts (a group commit hands over a few ids every few milliseconds) one UPDATE then covers dozens of
# groups instead of each. Off the request's path; far below the sweep's grace period.
LINGER_SECONDS = 0.05


class Stamper:
    """One database's pending stamps and the thread that writes them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pid = os.getpid()
        self._pending: list[uuid.UUID] = []
        self._cond = threading.Condition()
        # Ids taken off `_pending` whose UPDATE has not committed yet (for `flush`).
        self._writing = 0
        self._stopped = False
        self._urgent = False  # someone waits in `flush`: write without lingering
        self._thread = threading.Thread(target=self._run, name="podium-dispatch-stamper", daemon=True)
        self._thread.start()

    def add(self, op_ids: Iterable[uuid.UUID]) -> None:
        with self._cond:
            was_empty = not self._pending
            self._pending.extend(op_ids)
            if was_empty:  # the thread is lingering already when ids are pending: no wake-up per hand-over
                self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every id handed over so far is written (or failed); False on timeout."""
        with self._cond:
            self._urgent = True
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._pending and not self._writing, timeout)
            finally:
                self._urgent = False

    def stop(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopped)
                if not self._pending:
                    return
                self._cond.wait_for(lambda: self._stopped or self._urgent, LINGER_SECONDS)
                batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
                self._writing = len(batch)
            try:
                with self.engine.begin() as conn:
                    conn.execute(_STAMP, {"ids": batch})
            except Exception:
                # The messages are out; missing stamps only make the sweep send harmless duplicates.
                log.warning("could not stamp dispatched_at on %d operations", len(batch), exc_info=True)
            finally:
                with self._cond:
                    self._writing = 0
                    self._cond.notify_all()


class _Stampers:
    lock = threading.Lock()
    by_engine: dict[Engine, Stamper] = {}  # guarded by `lock`


def stamper(engine: Engine) -> Stamper:
    """This process's stamper for `engine` (a forked child, such as a Celery pool process, starts its own:
    the parent's thread does not exist in it)."""
    with _Stampers.lock:
        current = _Stampers.by_engine.get(engine)
        if current is None or current.pid != os.getpid():
            current = _Stampers.by_engine[engine] = Stamper(engine)
        return current


def stamp_later(engine: Engine, op_ids: Iterable[uuid.UUID]) -> None:
    stamper(engine).add(op_ids)


def flush_all(timeout: float = 10.0) -> bool:
    """Write every pending stamp of this process (at shutdown; tests that look at `dispatched_at`)."""
    with _Stampers.lock:
        stampers = [s for s in _Stampers.by_engine.values() if s.pid == os.getpid()]
    return all(s.flush(timeout) for s in stampers)


@atexit.register
def _stop_all() -> None:
    # A clean exit writes what is pending (the sweep would otherwise send each of them once more).
    with _Stampers.lock:
        stampers = [s for s in _Stampers.by_engine.values() if s.pid == os.getpid()]
        _Stampers.by_engine.clear()
    for s in stampers:
        s.stop()
