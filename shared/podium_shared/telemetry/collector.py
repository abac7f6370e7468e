"""The log collector of one cluster, run by the watcher: while it leads the cluster's log collection
(a Redis lock like the watches', plus a fence row in Postgres), it follows every container of every
training pod (pods of a PyTorchJob / HyperPodPyTorchJob) and model-download pod (pods of a Job labelled
`app.kubernetes.io/component=model-download`, as the training area's download_model labels them, or
`podium.io/workload=model-download`) and stores their lines and metric points.

Which pods exist comes from the watcher's snapshot and event stream in Redis, not from polling the
cluster: a pod that lived between two looks still left ADDED/DELETED events in the stream. If the
stream no longer covers our position (we were away longer than its window), the snapshot is read again.

A term: claim the fence in Postgres (after that, a deposed leader's batch fails its fence check), read
each stream's stored position, follow from there. One writer thread (this one) drains the followers'
bounded queues in batches, one transaction per batch, then publishes the stored lines (with their ids)
on `podium:logs:<cluster>` for the `logs` WebSocket topic. See docs/telemetry.md."""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client import ApiClient
from prometheus_client import Counter, Gauge
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from podium_shared.realtime.informer import Backoff
from podium_shared.realtime.keys import state_key, stream_key
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import decode_hash
from podium_shared.realtime.stream import parse_window, read_after, window_script
from podium_shared.telemetry import store
from podium_shared.telemetry.follow import Follower, FollowTuning
from podium_shared.telemetry.parsing import MetricParser, to_ms
from podium_shared.telemetry.store import Fenced, Line, Point, StreamBatch, StreamKey, Workload

log = logging.getLogger(__name__)

# A Job is a model download when it (or its pod) carries one of these labels.
DOWNLOAD_LABELS = (
    ("app.kubernetes.io/component", "model-download"),
    ("podium.io/workload", "model-download"),
)
TRAINING_KINDS = frozenset({"PyTorchJob", "HyperPodPyTorchJob"})

LINES_STORED = Counter("podium_log_lines_stored_total", "Log lines stored by the collector", ["cluster"])
LINES_DROPPED = Counter(
    "podium_log_lines_dropped_total", "Log lines dropped because storage could not keep up", ["cluster"]
)
METRIC_LINES_SKIPPED = Counter(
    "podium_metric_lines_skipped_total", "Lines that looked like metrics but did not parse", ["cluster"]
)
FOLLOWED = Gauge("podium_log_followed_containers", "Containers the collector follows", ["cluster"])
LOG_LAG = Gauge("podium_log_lag_seconds", "Now minus the timestamp of the newest stored line", ["cluster"])


def live_channel(cluster: str) -> str:
    return f"podium:logs:{cluster}"


def lock_scope(cluster: str) -> str:
    """The collector's own leadership (keys `podium:leader:<cluster>:logs`): it may run in another
    watcher replica than the cluster's watches, and fails over on its own."""
    return f"{cluster}:logs"


def publish_lines(redis: Redis[bytes], cluster: str, stored: list[dict[str, Any]]) -> None:
    """Announce committed lines (as `store.write_batches` returns them) to the `logs` topic's feeds."""
    for start in range(0, len(stored), 500):
        chunk = [
            {
                "id": str(r["id"]), "namespace": r["namespace"], "job": r["job"],
                "workload_uid": r["workload_uid"], "pod": r["pod"], "container": r["container"],
                "timestamp": r["ts"].isoformat(), "seq": r["seq"], "line": r["line"],
            }
            for r in stored[start : start + 500]
        ]  # fmt: skip
        redis.publish(live_channel(cluster), json.dumps({"lines": chunk}, separators=(",", ":")))


@dataclass(frozen=True)
class CollectorTuning:
    ttl_seconds: float = 10.0
    campaign_interval: float = 1.0
    batch_lines: int = 10_000
    retention_seconds: float = 30 * 86_400.0
    purge_interval: float = 600.0
    stream_page: int = 500
    follow: FollowTuning = field(default_factory=FollowTuning)


def workload_of(
    pod: dict[str, Any], job_labels: Callable[[str, str], dict[str, str] | None]
) -> Workload | None:
    """The training job or model download a pod belongs to (its controller's uid), or None."""
    meta = pod.get("metadata") or {}
    ref = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if ref is None or not ref.get("uid"):
        return None
    kind = str(ref.get("kind"))
    ns = str(meta.get("namespace") or "")
    if kind not in TRAINING_KINDS:
        if kind != "Job":
            return None
        if not _is_download(meta.get("labels")) and not _is_download(job_labels(ns, str(ref.get("name")))):
            return None
    return Workload(str(ref["uid"]), "", ns, str(ref.get("name")), kind)


def _is_download(labels: dict[str, str] | None) -> bool:
    return bool(labels) and any((labels or {}).get(k) == v for k, v in DOWNLOAD_LABELS)


def _containers(pod: dict[str, Any]) -> list[str]:
    return [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name")]


def _finished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


@dataclass
class Followed:
    follower: Follower
    workload: Workload
    parser: MetricParser | None
    reported_dropped: int = 0
    reported_truncated: int = 0
    reported_skipped: int = 0


class LogCollector(threading.Thread):
    def __init__(  # noqa: PLR0917 - built in one place
        self,
        cluster: str,
        api_factory: Callable[[], ApiClient],
        redis: Redis[bytes],
        sessions: sessionmaker[Session],
        holder: str,
        tuning: CollectorTuning | None = None,
    ) -> None:
        super().__init__(name=f"log-collector-{cluster}", daemon=True)
        self.cluster = cluster
        self.api_factory = api_factory
        self.redis = redis
        self.sessions = sessions
        self.holder = holder
        self.tuning = tuning or CollectorTuning()
        self.lock = LeaderLock(redis, lock_scope(cluster), holder, self.tuning.ttl_seconds)
        self.stop_event = threading.Event()
        self.is_leader = threading.Event()
        self.terms = 0
        self._release_on_exit = True
        self._followed: dict[StreamKey, Followed] = {}
        # Streams of finished pods read to their end in this term: later updates of the pod (until it is
        # deleted) must not start a follower again.
        self._done: set[StreamKey] = set()
        self._wake = threading.Event()
        self._rng = random.Random()  # noqa: S311 - jitter

    def stop(self, *, release: bool = True) -> None:
        """release=False behaves like a crash: the lock is left to expire and lines read but not yet
        stored are abandoned (the next leader reads them again from the stored positions)."""
        self._release_on_exit = release
        self.stop_event.set()
        self._wake.set()

    # --- leadership ------------------------------------------------------------------------------

    def run(self) -> None:
        backoff = Backoff(0.2, 5.0, self._rng)
        token: str | None = None
        while not self.stop_event.is_set():
            try:
                if token is None or not self.lock.renew(token):
                    token = self.lock.try_acquire()
                if token is None:
                    self.stop_event.wait(self.tuning.campaign_interval)
                    continue
                self._term(token)
                backoff.reset()
                if self.stop_event.is_set() and self._release_on_exit:
                    self.lock.release(token)
                token = None
            except (RedisError, OSError, SQLAlchemyError) as exc:
                delay = backoff.next()
                log.warning(
                    "log collector %s/%s: %r; retrying in %.2fs", self.holder, self.cluster, exc, delay
                )
                self.stop_event.wait(delay)
            except Exception:
                log.exception("log collector %s/%s failed", self.holder, self.cluster)
                self.stop_event.wait(max(1.0, backoff.next()))

    def _term(self, token: str) -> None:
        self.terms += 1
        with self.sessions.begin() as session:
            fence = store.claim(session, self.cluster, self.holder)
        log.info("log collector %s leads cluster %s (fence %d)", self.holder, self.cluster, fence)
        api = self.api_factory()
        self.is_leader.set()
        try:
            self._lead(token, fence, api)
        except Fenced:
            log.warning("log collector %s lost cluster %s to a newer one", self.holder, self.cluster)
        finally:
            self.is_leader.clear()
            for f in self._followed.values():
                f.follower.abort()
            for f in self._followed.values():
                f.follower.join(timeout=2.0)
            self._followed.clear()
            self._done.clear()
            FOLLOWED.labels(self.cluster).set(0)
            api.close()  # type: ignore[no-untyped-call]

    def _lead(self, token: str, fence: int, api: ApiClient) -> None:
        t = self.tuning
        renew_every = t.ttl_seconds / 3
        last_renew = time.monotonic()
        last_purge = last_look = 0.0
        position = self._snapshot(api)
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now - last_renew >= renew_every:
                if not self.lock.renew(token):
                    log.warning("log collector %s could not renew cluster %s", self.holder, self.cluster)
                    return
                last_renew = now
            if now - last_look >= 0.1:  # a busy writer need not ask Redis about pods on every batch
                position = self._follow_stream(api, position)
                last_look = now
            stored = self._drain(fence)
            self._reap()
            if now - last_purge >= t.purge_interval:
                self.purge()
                last_purge = now
            if not stored:
                self._wake.wait(0.1)
                self._wake.clear()
        # A clean stop: stop reading, then store what was read (a crash leaves it to the next leader,
        # which reads it again from the stored position).
        for f in self._followed.values():
            f.follower.abort()
        for f in self._followed.values():
            f.follower.join(timeout=2.0)
        while self._release_on_exit and self._drain(fence):
            pass

    # --- which pods: the watcher's snapshot, then its event stream ---------------------------------

    def _snapshot(self, api: ApiClient) -> str:
        # Objects and stream position in one MULTI: the events after that id are exactly what changed.
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(state_key(self.cluster, "pods"))
        pipe.hgetall(state_key(self.cluster, "jobs"))
        window_script(self.redis)(keys=[stream_key(self.cluster)], client=pipe)
        raw_pods, raw_jobs, raw_window = pipe.execute()
        position = parse_window(raw_window).last_id
        jobs = {}
        for j in decode_hash(raw_jobs):
            jm = j.get("metadata") or {}
            jobs[f"{jm.get('namespace')}/{jm.get('name')}"] = j
        pods = decode_hash(raw_pods)
        seen = set()
        for pod in pods:
            seen.add(str((pod.get("metadata") or {}).get("uid")))
            self._on_pod(api, "ADDED", pod, jobs)
        for key, f in self._followed.items():
            if key.pod_uid not in seen:
                f.follower.gone = True  # deleted while we were not looking
        return position

    def _follow_stream(self, api: ApiClient, after: str) -> str:
        win, events = read_after(self.redis, self.cluster, after, self.tuning.stream_page)
        if after != "0-0" and not win.covers(after):
            log.info("log collector %s: stream moved past %s; rereading the snapshot", self.cluster, after)
            return self._snapshot(api)
        for ev in events:
            if ev.topic == "pods":
                self._on_pod(api, ev.event, ev.object, None)
            after = ev.id
        if not events and after == "0-0" and win.last_id != "0-0":
            return self._snapshot(api)
        return after

    def _job_labels(
        self, jobs: dict[str, dict[str, Any]] | None
    ) -> Callable[[str, str], dict[str, str] | None]:
        def lookup(ns: str, name: str) -> dict[str, str] | None:
            if jobs is not None:
                job = jobs.get(f"{ns}/{name}")
            else:
                raw = self.redis.hget(state_key(self.cluster, "jobs"), f"{ns}/{name}")
                job = json.loads(raw) if raw else None
            return ((job or {}).get("metadata") or {}).get("labels") if job else None

        return lookup

    def _on_pod(
        self, api: ApiClient, event: str, pod: dict[str, Any], jobs: dict[str, dict[str, Any]] | None
    ) -> None:
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if not uid:
            return
        keys = [StreamKey(uid, c) for c in _containers(pod)]
        if event == "DELETED":
            for key in keys:
                self._done.discard(key)
                f = self._followed.get(key)
                if f is not None:
                    f.follower.gone = True
            return
        keys = [k for k in keys if k not in self._done]
        if not keys:
            return
        existing = [self._followed[k] for k in keys if k in self._followed]
        if existing:
            for f in existing:
                f.follower.finished = _finished(pod)
            return
        found = workload_of(pod, self._job_labels(jobs))
        if found is None:
            return
        workload = Workload(found.uid, self.cluster, found.namespace, found.name, found.kind)
        for key in keys:
            self._start(api, workload, str(meta.get("name")), key, _finished(pod))

    def _start(self, api: ApiClient, workload: Workload, pod: str, key: StreamKey, finished: bool) -> None:
        with self.sessions() as session:
            start, _dropped, _truncated = store.position(session, key)
            history = store.recent_text(session, key) if start.last_seq else []
        parser = MetricParser() if workload.kind in TRAINING_KINDS else None
        if parser is not None:
            for line in history:  # restore the step counter; the points were stored the first time
                parser.feed(line)
            parser.skipped = parser.parsed = 0
        follower = Follower(api, workload.namespace, pod, key, start, self.tuning.follow, self._wake)
        follower.finished = finished
        self._followed[key] = Followed(follower, workload, parser)
        follower.start()
        FOLLOWED.labels(self.cluster).set(len(self._followed))

    def _reap(self) -> None:
        for key, f in list(self._followed.items()):
            if not f.follower.is_alive() and f.follower.lines.empty() and self._reported(f):
                del self._followed[key]
                if f.follower.finished and not f.follower.gone:
                    self._done.add(key)
        FOLLOWED.labels(self.cluster).set(len(self._followed))

    @staticmethod
    def _reported(f: Followed) -> bool:
        return f.reported_dropped == f.follower.dropped and f.reported_truncated == f.follower.truncated

    # --- storing ---------------------------------------------------------------------------------

    def _drain(self, fence: int) -> int:
        active = list(self._followed.values())
        if not active:
            return 0
        share = max(50, self.tuning.batch_lines // len(active))
        batches: list[StreamBatch] = []
        for f in active:
            b = self._take(f, share)
            if b is not None:
                batches.append(b)
        if not batches:
            return 0
        with self.sessions.begin() as session:
            stored = store.write_batches(session, self.cluster, fence, batches)
        # Committed: now the counters move and the live topic hears about it.
        for b in batches:
            followed = self._followed.get(b.key)
            if followed is not None:
                followed.reported_dropped += b.dropped
                followed.reported_truncated += b.truncated
                if followed.parser is not None:
                    skipped = followed.parser.skipped - followed.reported_skipped
                    METRIC_LINES_SKIPPED.labels(self.cluster).inc(skipped)
                    followed.reported_skipped = followed.parser.skipped
            if b.dropped:
                LINES_DROPPED.labels(self.cluster).inc(b.dropped)
        LINES_STORED.labels(self.cluster).inc(len(stored))
        if stored:
            LOG_LAG.labels(self.cluster).set(max(0.0, time.time() - stored[-1]["ts"].timestamp()))
            self._publish(stored)
        return sum(len(b.lines) for b in batches)

    def _take(self, f: Followed, limit: int) -> StreamBatch | None:
        fol = f.follower
        lines: list[Line] = []
        while len(lines) < limit:
            try:
                lines.append(fol.lines.get_nowait())
            except queue.Empty:
                break
        dropped = fol.dropped - f.reported_dropped
        truncated = fol.truncated - f.reported_truncated
        if not lines and not dropped and not truncated:
            return None
        batch = StreamBatch(fol.key, f.workload, fol.pod, lines, dropped=dropped, truncated=truncated)
        if f.parser is not None:
            for line in lines:
                for p in f.parser.feed(line.text):
                    batch.points.append(Point(p.name, p.value, to_ms(line.ts), p.iteration, fol.pod, "log"))
        return batch

    def _publish(self, stored: list[dict[str, Any]]) -> None:
        try:
            publish_lines(self.redis, self.cluster, stored)
        except RedisError as exc:
            # Stored already: live readers catch up from the database on their next look.
            log.warning("log collector %s: live publish failed: %r", self.cluster, exc)

    def purge(self) -> int:
        before = datetime.now(UTC) - timedelta(seconds=self.tuning.retention_seconds)
        total = 0
        for _ in range(100):
            with self.sessions.begin() as session:
                n = store.purge_lines(session, before)
            total += n
            if n == 0:
                break
        return total
