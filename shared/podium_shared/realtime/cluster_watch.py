"""Streams one cluster into Redis while this process holds the cluster's leadership.

A *term* starts when `LeaderLock` hands us a fencing token: every informer lists and watches into one
bounded queue, and a single writer (this thread) drains it in batches into Redis under the token. The
term ends when the lease cannot be renewed, a write is fenced off, or Redis fails; the informers are
stopped and we campaign again. A new term always starts from full lists, which the writer compares with
what Redis holds, so a standby taking over, a Redis restart and a compacted history all converge the
same way."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kubernetes.client import ApiClient
from redis import Redis
from redis.exceptions import RedisError

from podium_shared.realtime.informer import Backoff, Informer, Item, WatchTuning
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.metrics import EVENT_LAG, IS_LEADER, LAST_WRITE, QUEUE_DEPTH, WATCH_EVENTS
from podium_shared.realtime.resources import WATCHED, WatchedResource
from podium_shared.realtime.state import Change, Fenced, StateWriter, purge
from podium_shared.realtime.stream import STREAM_MAX_AGE_SECONDS, STREAM_MAXLEN, trim_by_age

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaderTuning:
    ttl_seconds: float = 10.0
    campaign_interval: float = 1.0  # how often a standby tries to take over
    touch_interval: float = 1.0  # how often the snapshot's freshness is confirmed
    batch_size: int = 500
    stream_maxlen: int = STREAM_MAXLEN
    stream_max_age: float = STREAM_MAX_AGE_SECONDS


class ClusterWatch(threading.Thread):
    def __init__(
        self,
        cluster: str,
        api_factory: Callable[[], ApiClient],
        redis: Redis[bytes],
        holder: str,
        *,
        watch: WatchTuning | None = None,
        leader: LeaderTuning | None = None,
        resources: Sequence[WatchedResource] = WATCHED,
    ) -> None:
        super().__init__(name=f"cluster-watch-{cluster}", daemon=True)
        self.cluster = cluster
        self.api_factory = api_factory
        self.redis = redis
        self.holder = holder
        self.watch_tuning = watch or WatchTuning()
        self.leader_tuning = leader or LeaderTuning()
        self.resources = resources
        self.lock = LeaderLock(redis, cluster, holder, self.leader_tuning.ttl_seconds)
        self.stop_event = threading.Event()
        self.is_leader = threading.Event()
        self.terms = 0
        self._release_on_exit = True
        self._purge_on_exit = False
        self._purged = False
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def stop(self, *, release: bool = True, purge: bool = False) -> None:
        """release=False leaves the lock to expire, as a crashed process would. purge=True (the cluster
        was deregistered): the leader deletes the cluster's snapshot and stream before letting go."""
        self._release_on_exit = release
        self._purge_on_exit = purge
        self.stop_event.set()

    def run(self) -> None:
        backoff = Backoff(0.2, 5.0, self._rng)
        token: str | None = None
        usable = False
        while not self.stop_event.is_set():
            try:
                if not usable:
                    # A cluster we cannot even configure a client for must not hold the leadership.
                    self.api_factory().close()  # type: ignore[no-untyped-call]
                    usable = True
                # After a Redis error we may still hold the lock (it survived a restart): keep our token.
                if token is None or not self.lock.renew(token):
                    token = self.lock.try_acquire()
                if token is None:
                    self.stop_event.wait(self.leader_tuning.campaign_interval)
                    continue
                self._term(token)
                backoff.reset()
                if self.stop_event.is_set() and self._release_on_exit:
                    if self._purge_on_exit:
                        self._purge(token)
                    self.lock.release(token)
                token = None if self.stop_event.is_set() else token
            except (RedisError, OSError) as exc:
                delay = backoff.next()
                log.warning(
                    "watcher %s/%s: redis: %r; retrying in %.2fs", self.holder, self.cluster, exc, delay
                )
                self.stop_event.wait(delay)
            except Exception:
                # Never let one cluster's surprise kill its thread: the lock expires, a standby (or we) retry.
                log.exception("watcher %s/%s: cannot stream the cluster", self.holder, self.cluster)
                usable = False
                self.stop_event.wait(max(1.0, backoff.next()))
        if self._purge_on_exit and self._release_on_exit and not self._purged:
            self._purge_unled(token)

    def _purge_unled(self, token: str | None) -> None:
        """Stopped outside a term (as a standby, or after a Redis error): the leader drops the state. If
        nobody leads (it died), take the lock for that, so a deregistered cluster's keys do not stay."""
        try:
            if token is None or not self.lock.renew(token):
                token = self.lock.try_acquire()
            if token is not None:
                self._purge(token)
                self.lock.release(token)
        except (RedisError, OSError) as exc:
            log.warning("watcher %s could not drop cluster %s: %r", self.holder, self.cluster, exc)

    def _purge(self, token: str) -> None:
        try:
            removed = purge(self.redis, self.cluster, token)
            self._purged = True
            log.info(
                "watcher %s dropped deregistered cluster %s (%d keys)", self.holder, self.cluster, removed
            )
        except Fenced:
            log.warning("watcher %s lost cluster %s before dropping its state", self.holder, self.cluster)

    def _term(self, token: str) -> None:
        self.terms += 1
        log.info("watcher %s leads cluster %s with token %s", self.holder, self.cluster, token)
        items: queue.Queue[Item] = queue.Queue(maxsize=self.watch_tuning.queue_size)
        term_stop = threading.Event()
        writer = StateWriter(self.redis, self.cluster, token, self.leader_tuning.stream_maxlen)
        try:
            # Before any change is written: changes keep the aggregates current only from a correct start.
            if writer.prepare_aggregates():
                log.info("watcher %s rebuilt the GPU aggregates of cluster %s", self.holder, self.cluster)
        except Fenced:
            log.warning("watcher %s lost cluster %s to a newer leader", self.holder, self.cluster)
            return
        api = self.api_factory()
        informers = [
            Informer(
                self.cluster,
                api,
                r,
                items,
                term_stop,
                self.watch_tuning,
                random.Random(self._rng.random()),  # noqa: S311 - jitter, not cryptography
            )
            for r in self.resources
        ]
        for informer in informers:
            informer.start()
        IS_LEADER.labels(self.cluster).set(1)
        self.is_leader.set()
        try:
            self._drain(token, writer, items)
        except Fenced:
            log.warning("watcher %s lost cluster %s to a newer leader", self.holder, self.cluster)
        finally:
            self.is_leader.clear()
            IS_LEADER.labels(self.cluster).set(0)
            term_stop.set()
            for informer in informers:
                informer.abort()
            for informer in informers:
                informer.join(timeout=2.0)
            api.close()  # type: ignore[no-untyped-call]

    def _drain(self, token: str, writer: StateWriter, items: queue.Queue[Item]) -> None:
        t = self.leader_tuning
        renew_every = t.ttl_seconds / 3
        last_renew = last_touch = last_trim = time.monotonic()
        synced: list[str] = []
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now - last_renew >= renew_every:
                if not self.lock.renew(token):
                    log.warning("watcher %s could not renew cluster %s", self.holder, self.cluster)
                    return
                last_renew = now
            batch = self._take(items, t.batch_size, timeout=min(0.2, renew_every))
            QUEUE_DEPTH.labels(self.cluster).set(items.qsize())
            changes: list[Change] = []
            for item in batch:
                if item.event.startswith("LIST_"):
                    # Changes before a list page must be in Redis before the page is compared with Redis.
                    self._write(writer, changes)
                    changes = []
                    self._list_step(writer, item, synced)
                    continue
                assert item.obj is not None
                change = writer.plan(item.resource, item.event, item.obj)
                if change is not None:
                    changes.append(change)
            self._write(writer, changes)
            now = time.monotonic()
            for item in batch:
                EVENT_LAG.labels(self.cluster).observe(now - item.read_at)
            if synced or now - last_touch >= t.touch_interval:
                writer.touch(synced)
                synced = []
                last_touch = now
                LAST_WRITE.labels(self.cluster).set(time.time())
            if now - last_trim >= 10.0:
                trim_by_age(self.redis, self.cluster, t.stream_max_age, int(time.time() * 1000))
                last_trim = now

    def _list_step(self, writer: StateWriter, item: Item, synced: list[str]) -> None:
        if item.event == "LIST_START":
            writer.begin_list(item.resource)
        elif item.event == "LIST_PAGE":
            self._write(writer, writer.list_page(item.resource, item.items or []))
            if item.done is not None:
                item.done()  # the informer may fetch its next page
        else:
            self._write(writer, writer.end_list(item.resource))
            synced.append(item.resource)
            _return_free_memory()

    def _write(self, writer: StateWriter, changes: list[Change]) -> None:
        for start in range(0, len(changes), self.leader_tuning.batch_size):
            chunk = changes[start : start + self.leader_tuning.batch_size]
            writer.write(chunk)
            for change in chunk:
                WATCH_EVENTS.labels(self.cluster, change.kind, change.event).inc()

    @staticmethod
    def _take(items: queue.Queue[Item], limit: int, timeout: float) -> list[Item]:
        try:
            batch = [items.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(batch) < limit:
            try:
                batch.append(items.get_nowait())
            except queue.Empty:
                break
        return batch


def _return_free_memory() -> None:
    """Hand back to the OS the heap a relist freed: a big cluster's list is decoded page by page and
    dropped, but glibc keeps freed pages mapped, so the process would stay at the list's peak."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)
