"""A per-process cache of bearer token → principal, valid only while nothing about users or tokens changed.

Authenticating a bearer token was a database query on every request (a join of the token and its user),
about a tenth of an accepted command's CPU. The cache keeps the answer for `TTL_SECONDS`, and every answer
it gives is checked against an epoch in Redis (`EPOCH_KEY`, one GET per request instead of the query): any
transaction that changes a user or a token (through the ORM or an ORM-enabled UPDATE/DELETE: a role, the
namespaces, disabling, revoking, rotating, deleting) increments the epoch right after its commit, and every
process's cached answers stop counting at once. So a revoked token or a demoted user is refused by every API
process from the first request after the change, as without the cache.

What it allows: a change made outside SQLAlchemy (an operator's UPDATE in psql) or one whose increment did
not reach Redis (down at that instant) is seen after at most `TTL_SECONDS`. When Redis does not answer the
GET, the cache is not used. Refused tokens are never cached (each one is a query, as before, and spends the
client's failure budget). `last_used_at` is still written by the query, so at most `TTL_SECONDS` later than
its minute's precision."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis, RedisError
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from podium_shared.auth import tokens
from podium_shared.auth.principal import Principal
from podium_shared.db.session import after_commit
from podium_shared.models.user import ApiToken, User
from podium_shared.settings import current_settings

log = logging.getLogger(__name__)

EPOCH_KEY = "podium:auth:epoch"
TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000
# Execution option of a statement that changes nothing a principal is made of (the `last_used_at` touch).
PRINCIPAL_UNCHANGED = "podium_principal_unchanged"
_CHANGED = "podium.auth.changed"
_AUTH_MODELS = (User, ApiToken)


@dataclass(frozen=True)
class Entry:
    principal: Principal
    epoch: bytes
    stored_at: float


class PrincipalCache:
    def __init__(self, redis: Redis[bytes], ttl_seconds: float = TTL_SECONDS) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def epoch(self) -> bytes | None:
        """The current epoch; None when Redis does not answer (then nothing is read from or put in the
        cache)."""
        try:
            value = self.redis.get(EPOCH_KEY)
        except RedisError:
            log.warning("auth cache: no epoch from Redis; authenticating from the database")
            return None
        return value if value is not None else b"0"

    def peek(self, token: str) -> Entry | None:
        """What is cached for `token`, whatever its epoch and age: the caller reads the epoch, then keeps
        the entry's principal only if `fresh(entry, epoch)` (one digest of the token for both steps)."""
        return self._entries.get(tokens.digest(token)) if token else None

    def fresh(self, entry: Entry, epoch: bytes) -> bool:
        return entry.epoch == epoch and time.monotonic() - entry.stored_at <= self.ttl_seconds

    def get(self, token: str, epoch: bytes | None) -> Principal | None:
        if epoch is None:
            return None
        entry = self.peek(token)
        return entry.principal if entry is not None and self.fresh(entry, epoch) else None

    def put(self, token: str, principal: Principal, epoch: bytes | None) -> None:
        """`epoch` must be the one read *before* the database answered: a change committed in between has
        incremented it already, so the entry is never used."""
        if epoch is None:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()  # a process sees far fewer live tokens; this only bounds the memory
            self._entries[tokens.digest(token)] = Entry(principal, epoch, time.monotonic())


class _Clients:
    lock = threading.Lock()
    by_url: dict[str, Redis[bytes]] = {}  # guarded by `lock`


def _redis(url: str) -> Redis[bytes]:
    with _Clients.lock:
        client = _Clients.by_url.get(url)
        if client is None:
            client = _Clients.by_url[url] = Redis.from_url(url)
        return client


def bump_epoch(redis_url: str | None = None) -> None:
    """Every cached principal of every process stops counting."""
    try:
        _redis(redis_url or current_settings().redis_url).incr(EPOCH_KEY)
    except RedisError:
        log.exception("auth cache: no epoch increment; cached principals may be used %ss more", TTL_SECONDS)


def _changed(session: Session) -> None:
    if session.info.get(_CHANGED):
        return
    session.info[_CHANGED] = True
    after_commit(session, bump_epoch)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    # New users and tokens change no cached answer (refusals are not cached); changed or deleted ones may.
    if any(isinstance(obj, _AUTH_MODELS) for obj in (*session.dirty, *session.deleted)):
        _changed(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(PRINCIPAL_UNCHANGED):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in _AUTH_MODELS:
        _changed(state.session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
