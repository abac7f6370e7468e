"""The `logs` WebSocket topic: new log lines live, with ids, resumable with `since` without gap.

Ids are the lines' database ids (decimal strings, valid `since` values like the stream's). Postgres is
the replay window — every kept line, for the whole retention — and Redis pub/sub on
`podium:logs:<cluster>` (published by the collector after each commit) is only the doorbell, as in the
cluster feed: after a reconnect a feed reads the lines it missed from Postgres before going on. The
collector's writes to one cluster are serialised by its fence row, so ids grow in commit order and
"everything after id N" is well defined. Subscribe:

    {"type": "subscribe", "id": "l1", "cluster": "c", "topic": "logs", "namespace": "team-a",
     "job": "sft", "pod": "sft-master-0", "container": "pytorch", "tail": 100, "since": "1234"}

Without `since`: a `snapshot` with the last `tail` matching lines (`objects`) and the position `id`, then
every new matching line as an `event` (`object` is the line). With `since`: the matching lines after
it, then live. Namespace-scoped users only receive lines of their namespaces."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from podium_shared.auth.principal import Principal
from podium_shared.errors import Forbidden, Invalid
from podium_shared.models.telemetry import LogLine, TelemetryWorkload
from podium_shared.realtime import doorbell
from podium_shared.realtime.hub import ClientConn
from podium_shared.realtime.stream import parse_id
from podium_shared.telemetry.collector import live_channel

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
MAX_TAIL = 1_000
MAX_PENDING = 20_000


@dataclass
class LogSub:
    sid: str
    cluster: str
    principal: Principal
    namespace: str | None = None
    job: str | None = None
    pod: str | None = None
    container: str | None = None
    last_id: int = 0
    pending: list[dict[str, Any]] | None = field(default_factory=list)

    def matches(self, line: dict[str, Any]) -> bool:
        return (
            self.principal.can_access_namespace(line.get("namespace"))
            and (self.namespace is None or line.get("namespace") == self.namespace)
            and (self.job is None or line.get("job") == self.job)
            and (self.pod is None or line.get("pod") == self.pod)
            and (self.container is None or line.get("container") == self.container)
        )

    def message(self, line: dict[str, Any]) -> str | None:
        line_id = int(line["id"])
        if line_id <= self.last_id:
            return None
        self.last_id = line_id
        if not self.matches(line):
            return None
        return json.dumps(
            {"type": "event", "subscription": self.sid, "id": str(line_id), "cluster": self.cluster,
             "topic": "logs", "kind": "logs", "event": "ADDED", "object": line},
            separators=(",", ":"),
        )  # fmt: skip

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [LogLine.cluster == self.cluster]
        if self.principal.namespaces is not None:
            where.append(LogLine.namespace.in_(self.principal.namespaces))
        if self.namespace is not None:
            where.append(LogLine.namespace == self.namespace)
        if self.job is not None:
            where.append(TelemetryWorkload.name == self.job)
        if self.pod is not None:
            where.append(LogLine.pod == self.pod)
        if self.container is not None:
            where.append(LogLine.container == self.container)
        return where


def _line(row: Any) -> dict[str, Any]:
    line: LogLine = row[0]
    return {
        "id": str(line.id), "namespace": line.namespace, "job": row[1], "workload_uid": line.workload_uid,
        "pod": line.pod, "container": line.container, "timestamp": line.ts.isoformat(), "seq": line.seq,
        "line": line.line,
    }  # fmt: skip


def _lines_after(
    session: Session, where: list[ColumnElement[bool]], after: int, limit: int
) -> list[dict[str, Any]]:
    stmt = (
        select(LogLine, TelemetryWorkload.name)
        .join(TelemetryWorkload, TelemetryWorkload.uid == LogLine.workload_uid)
        .where(*where, LogLine.id > after)
        .order_by(LogLine.id)
        .limit(limit)
    )
    return [_line(r) for r in session.execute(stmt).all()]


def _tail(session: Session, sub: LogSub, tail: int) -> tuple[int, list[dict[str, Any]]]:
    """The cluster's newest line id, then the last `tail` matching lines up to it."""
    position = int(
        session.execute(
            select(func.coalesce(func.max(LogLine.id), 0)).where(LogLine.cluster == sub.cluster)
        ).scalar_one()
    )
    if tail == 0:
        return position, []
    stmt = (
        select(LogLine, TelemetryWorkload.name)
        .join(TelemetryWorkload, TelemetryWorkload.uid == LogLine.workload_uid)
        .where(*sub.where(), LogLine.id <= position)
        .order_by(LogLine.id.desc())
        .limit(tail)
    )
    return position, [_line(r) for r in reversed(session.execute(stmt).all())]


class LogFeed:
    """One per cluster with `logs` subscribers in this API process."""

    def __init__(self, topic: LogTopic, cluster: str) -> None:
        self.topic = topic
        self.cluster = cluster
        self.redis: AsyncRedis[bytes] = AsyncRedis.from_url(
            topic.redis_url, socket_keepalive=True, health_check_interval=15
        )
        self.subs: dict[int, tuple[ClientConn, LogSub]] = {}
        self.last_id: int | None = None
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"log-feed-{cluster}")

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.redis.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5

    async def _run(self) -> None:
        await doorbell.follow(
            self.redis, live_channel(self.cluster), name=f"log feed {self.cluster}", ready=self.ready,
            catch_up=self._resume, on_message=lambda data: self.dispatch(json.loads(data)["lines"]),
        )  # fmt: skip

    async def _resume(self) -> None:
        if self.last_id is not None:
            await self._catch_up(self.last_id)

    async def _catch_up(self, after: int) -> None:
        where = [LogLine.cluster == self.cluster]
        while True:
            lines = await asyncio.to_thread(self.topic.read, _lines_after, where, after, REPLAY_PAGE)
            self.dispatch(lines)
            if len(lines) < REPLAY_PAGE:
                return
            after = int(lines[-1]["id"])

    def dispatch(self, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            line_id = int(line["id"])
            if self.last_id is not None and line_id <= self.last_id:
                continue
            self.last_id = line_id
            for client, sub in list(self.subs.values()):
                if sub.pending is not None:
                    if len(sub.pending) < MAX_PENDING:
                        sub.pending.append(line)
                    continue
                msg = sub.message(line)
                if msg is not None:
                    client.offer(msg)


def _text(msg: dict[str, Any], name: str) -> str | None:
    value = msg.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise Invalid(f"{name} must be a non-empty string")
    return value


class LogTopic:
    """The hub's TopicProvider for `logs`."""

    def __init__(self, redis_url: str, sessions: sessionmaker[Session]) -> None:
        self.redis_url = redis_url
        self.sessions = sessions
        self.feeds: dict[str, LogFeed] = {}
        self.subs: dict[tuple[int, str], tuple[LogFeed, LogSub]] = {}

    def read(self, fn: Any, *args: Any) -> Any:
        with self.sessions() as session:
            return fn(session, *args)

    async def subscribe(self, client: ClientConn, sid: str, msg: dict[str, Any], since: str | None) -> None:
        sub = LogSub(
            sid, str(msg["cluster"]), client.principal, _text(msg, "namespace"), _text(msg, "job"),
            _text(msg, "pod"), _text(msg, "container"),
        )  # fmt: skip
        if sub.namespace is not None and not sub.principal.can_access_namespace(sub.namespace):
            raise Forbidden(f"you have no access to namespace {sub.namespace!r}")
        tail = msg.get("tail", 100)
        if not isinstance(tail, int) or not 0 <= tail <= MAX_TAIL:
            raise Invalid(f"tail must be an integer from 0 to {MAX_TAIL}")
        feed = self.feeds.get(sub.cluster)
        if feed is None:
            feed = self.feeds[sub.cluster] = LogFeed(self, sub.cluster)
        feed.subs[id(sub)] = (client, sub)
        self.subs[(id(client), sid)] = (feed, sub)
        try:
            await asyncio.wait_for(feed.ready.wait(), 10.0)
            if since is None:
                position, lines = await asyncio.to_thread(self.read, _tail, sub, tail)
                sub.last_id = position
                await client.put(
                    {"type": "snapshot", "subscription": sid, "cluster": sub.cluster, "topic": "logs",
                     "id": str(position), "objects": lines}
                )  # fmt: skip
            else:
                sub.last_id = parse_id(since)[0]
                where = sub.where()
                while True:
                    lines = await asyncio.to_thread(self.read, _lines_after, where, sub.last_id, REPLAY_PAGE)
                    for line in lines:
                        out = sub.message(line)
                        if out is not None:
                            await client.put(out)
                    if len(lines) < REPLAY_PAGE:
                        break
            # Live from here: what arrived meanwhile first (ids already sent are skipped), in one step.
            pending, sub.pending = sub.pending or [], None
            for line in pending:
                out = sub.message(line)
                if out is not None:
                    client.offer(out)
        except BaseException:
            await self.unsubscribe(client, sid)
            raise

    async def unsubscribe(self, client: ClientConn, sid: str) -> None:
        entry = self.subs.pop((id(client), sid), None)
        if entry is None:
            return
        feed, sub = entry
        feed.subs.pop(id(sub), None)
        if not feed.subs:
            del self.feeds[feed.cluster]
            await feed.close()

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            await feed.close()
        self.feeds.clear()
        self.subs.clear()
