"""The Redis commands a transaction sends once it has committed, from every part of it, in one round trip.

An accepted command's transaction sends two things after its commit: its operations' events (a script
call each, `operations.events`) and their execute messages (one LPUSH per queue, `operations.dispatch`).
They went out as two redis-py calls, each a pool check-out, a retry wrapper and a reply parser: ~0.35 ms
of CPU and two round trips per group commit, a tenth of the writer's time (docs/performance-accept.md, "Fifth
pass"). Each part now adds a `build` (its commands, computed when the commit has happened) and a `settle`
(what to do with their replies) to the transaction; after the commit every part's commands are written on
one connection together and each part gets its own replies, an error reply as its exception. When the
connection fails, every part gets that failure for each of its commands, and decides for itself: events
are dropped (the row stays the truth), unsent messages are left to the sweep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError
from sqlalchemy.orm import Session

from podium_shared.db.session import after_commit, transaction_scoped

log = logging.getLogger(__name__)

_PARTS = "podium.after_commit.redis"

Build = Callable[[], list[tuple[Any, ...]]]
Settle = Callable[[list[Any]], None]
Client = Callable[[], "Redis[bytes]"]


def add(session: Session, name: str, client: Client, build: Build, settle: Settle) -> bool:
    """Have `build()`'s commands sent after `session` commits, with every other part's, and `settle` called
    with their replies. One part per `name` per transaction: False when `name` has one already (the caller
    keeps adding to what its first `build` will read)."""
    parts: dict[str, tuple[Client, Build, Settle]]
    parts, first = transaction_scoped(session, _PARTS, dict)
    if first:
        after_commit(session, lambda: _send(parts))
    if name in parts:
        return False
    parts[name] = (client, build, settle)
    return True


def _send(parts: dict[str, tuple[Client, Build, Settle]]) -> None:
    built: list[tuple[list[tuple[Any, ...]], Settle]] = []
    for name, (_, build, settle) in parts.items():
        try:
            built.append((build(), settle))
        except Exception:  # that part sends nothing (its operations stay unstamped for the sweep); others do
            log.exception("after-commit Redis commands of %s could not be built", name)
    calls = [call for commands, _ in built for call in commands]
    client = next(iter(parts.values()))[0]  # every part of a process talks to the same Redis
    try:
        replies = call_many(client(), calls)
    except Exception as exc:  # the connection, not a command: every command failed with it
        replies = [exc] * len(calls)
    start = 0
    for commands, settle in built:
        try:
            settle(replies[start : start + len(commands)])
        except Exception:
            log.exception("after-commit Redis replies could not be settled")
        start += len(commands)


def call_many(redis: Redis[bytes], calls: list[tuple[Any, ...]]) -> list[Any]:
    """Each call's reply, in order, from one write and one read on one pooled connection; an error reply is
    its `ResponseError` (NoScriptError included), not raised. A connection failure raises (and the
    connection is dropped, so the pool does not hand out a half-read one)."""
    if not calls:
        return []
    pool = redis.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_packed_command(connection.pack_commands(calls))
        replies: list[Any] = []
        for _ in calls:
            try:
                replies.append(connection.read_response())
            except ResponseError as exc:
                replies.append(exc)
    except BaseException:
        connection.disconnect()
        raise
    finally:
        pool.release(connection)
    return replies
