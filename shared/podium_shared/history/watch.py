"""One poller per MLflow tracking server, in the watcher service: it notices new and changed runs and
publishes them on the `training_runs` topic of every cluster that uses that server, so an open history
table updates by itself with no browser polling MLflow.

MLflow has no push API (no watch, no change feed), so this is polling, kept cheap: each round asks for
three small, indexed slices — runs started since the last round, runs still RUNNING (their metrics move),
and runs that ended since the last round — instead of re-reading the history. A fingerprint per run
(status, end time, latest metrics, tags) decides what changed; unchanged runs publish nothing.

Leader-elected like the cluster watches (`realtime.leader.LeaderLock`, key `podium:leader:mlflow:<hash>`),
so N watcher replicas poll each server once. Publishing is not fenced: a paused ex-leader can at worst
repeat an event, which a console applies idempotently (it upserts runs by id). A new leader's first round
only learns fingerprints; consoles that reconnect re-read the REST page anyway."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from podium_shared.errors import PodiumError
from podium_shared.history.client import Tracking
from podium_shared.history.reads import experiments, summary
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.resources import TRAINING_RUNS_TOPIC
from podium_shared.realtime.stream import publish

log = logging.getLogger(__name__)
# Runs whose start or end falls this close before the last round are asked for again: MLflow's times come
# from the clients that log, whose clocks may lag ours a little.
SLACK_MS = 30_000
PAGE = 500


def election_name(uri: str) -> str:
    # ':' is not a DNS-label character, so this can never be a cluster's own leader key.
    return "mlflow:" + hashlib.sha256(uri.encode()).hexdigest()[:16]


def _fingerprint(run: dict[str, Any]) -> str:
    keys = ("status", "lifecycle_stage", "end_time", "metrics", "tags", "run_name")
    return json.dumps([run.get(k) for k in keys], sort_keys=True, default=str)


class RunsWatch(threading.Thread):
    def __init__(
        self,
        tracking: Tracking,
        clusters: Callable[[], list[str]],
        redis: Redis[bytes],
        holder: str,
        *,
        interval: float = 2.0,
        leader_ttl: float = 10.0,
    ) -> None:
        super().__init__(name=f"mlflow-watch-{election_name(tracking.uri)}", daemon=True)
        self.tracking = tracking
        self.clusters = clusters  # read each round: clusters come and go without restarting the poller
        self.redis = redis
        self.interval = interval
        self.lock = LeaderLock(redis, election_name(tracking.uri), holder, ttl_seconds=leader_ttl)
        self.stop_event = threading.Event()
        self.seen: dict[str, str] = {}
        self.since_ms = 0
        self.published = 0
        self.rounds = 0  # completed polls, for /metrics-style introspection and the tests

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        token: str | None = None
        while not self.stop_event.is_set():
            try:
                if token is None or not self.lock.renew(token):
                    if token is not None:
                        log.warning("lost the lead on %s", self.tracking.uri)
                    token = self.lock.try_acquire()
                    self.seen.clear()
                    self.since_ms = 0
                if token is not None:
                    self.poll_once()
            except PodiumError as exc:
                log.warning("MLflow %s: %s", self.tracking.uri, exc.message)
            except RedisError as exc:
                log.warning("MLflow watch %s: Redis: %r", self.tracking.uri, exc)
            self.stop_event.wait(self.interval)
        if token is not None:
            try:
                self.lock.release(token)
            except RedisError:
                log.warning("could not release the lead on %s", self.tracking.uri)

    def poll_once(self) -> int:
        """One round; returns how many runs were published."""
        t = self.tracking
        started = int(time.time() * 1000)
        names = experiments(t, refresh=not self.seen)
        ids = sorted(names)
        if not ids:
            self.rounds += 1
            return 0
        first = self.since_ms == 0
        since = max(0, self.since_ms - SLACK_MS)
        runs: dict[str, Any] = {}
        # First round of a term: the recent past only, to learn fingerprints without publishing them.
        slices = (
            [f"attributes.start_time >= {started - 3600_000}"]
            if first
            else [
                f"attributes.start_time >= {since}",
                "attributes.status = 'RUNNING'",
                f"attributes.end_time >= {since}",
            ]
        )
        for filter_string in slices:
            page = t.call(
                "polling runs",
                t.client.search_runs,
                experiment_ids=ids,
                filter_string=filter_string,
                max_results=PAGE,
                order_by=["attributes.start_time DESC"],
            )
            for run in page:
                runs[run.info.run_id] = run
        published = 0
        for run_id, run in runs.items():
            body = summary(run, names).model_dump(mode="json")
            fp = _fingerprint(body)
            before = self.seen.get(run_id)
            self.seen[run_id] = fp
            if first or before == fp:
                continue
            self._publish("ADDED" if before is None else "MODIFIED", body)
            published += 1
        self.since_ms = started
        self.published += published
        self.rounds += 1
        return published

    def _publish(self, event: str, body: dict[str, Any]) -> None:
        for cluster in self.clusters():
            publish(self.redis, cluster, TRAINING_RUNS_TOPIC, event, body)
