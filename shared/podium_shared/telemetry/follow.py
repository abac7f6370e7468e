"""One followed container: `GET .../pods/{pod}/log?follow=true&timestamps=true[&sinceTime=...]`, line by
line, into a bounded queue the collector's writer drains.

Resume without gap or duplicate: the position holds the newest timestamp read and how many lines carried
exactly it. A (re)connection asks for lines since that second (`sinceTime` is whole seconds at most API
servers), skips lines older than the timestamp and the first `ts_count` lines stamped with it.

Bounded memory: at most `buffer_lines` lines wait per container and a line longer than
`max_line_bytes` is cut (counted). When the queue is full the reader stops reading — back-pressure on
the connection, nothing lost — for up to `throttle_seconds`; a line that still finds no room is dropped
and counted, and the count is stored with the stream and shown with its lines."""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import urllib3
from kubernetes.client import ApiClient

from podium_shared.realtime.informer import Backoff, KubeHTTPError
from podium_shared.telemetry.parsing import split_timestamp
from podium_shared.telemetry.store import Line, Position, StreamKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowTuning:
    buffer_lines: int = 2_000
    throttle_seconds: float = 2.0
    max_line_bytes: int = 65_536
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # silence this long: reconnect from the position (nothing is lost)
    backoff_base: float = 0.2
    backoff_max: float = 5.0


class Follower(threading.Thread):
    def __init__(  # noqa: PLR0917 - built in one place
        self,
        api: ApiClient,
        namespace: str,
        pod: str,
        key: StreamKey,
        start: Position,
        tuning: FollowTuning,
        wake: threading.Event,
    ) -> None:
        super().__init__(name=f"log-{namespace}/{pod}/{key.container}", daemon=True)
        self.api = api
        self.namespace = namespace
        self.pod = pod
        self.key = key
        self.position = Position(start.last_seq, start.last_ts, start.ts_count)
        self.tuning = tuning
        self.wake = wake
        self.lines: queue.Queue[Line] = queue.Queue(maxsize=tuning.buffer_lines)
        self.dropped = 0
        self.truncated = 0
        self.finished = False  # the pod finished (Succeeded/Failed): a clean end of the stream is the end
        self.gone = False  # the pod was deleted
        self.stop_event = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._backoff = Backoff(tuning.backoff_base, tuning.backoff_max, random.Random())  # noqa: S311

    def abort(self) -> None:
        self.stop_event.set()
        resp = self._response
        sock = getattr(getattr(resp, "connection", None), "sock", None) if resp is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                clean = self._follow_once()
                self._backoff.reset()
            except KubeHTTPError as exc:
                if exc.status == 404:
                    return  # the pod is gone: nothing more can be read
                clean = False
                if exc.status != 400:  # 400: the container is still being created
                    log.warning("logs of %s/%s: %s", self.namespace, self.pod, exc)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if self.stop_event.is_set():
                    return
                log.info("logs of %s/%s interrupted: %r", self.namespace, self.pod, exc)
                clean = False
            if clean and (self.finished or self.gone):
                return
            self.stop_event.wait(self._backoff.next() if not clean else self.tuning.backoff_base)

    def _open(self) -> urllib3.BaseHTTPResponse:
        query: list[tuple[str, Any]] = [
            ("container", self.key.container), ("follow", "true"), ("timestamps", "true"),
        ]  # fmt: skip
        if self.position.last_ts is not None:
            since = self.position.last_ts.astimezone(UTC).replace(microsecond=0)
            query.append(("sinceTime", since.strftime("%Y-%m-%dT%H:%M:%SZ")))
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.pod}/log"
        method, url, headers, _body, _post = self.api.param_serialize(
            "GET", path, query_params=query, header_params={"Accept": "*/*"}, auth_settings=["BearerToken"]
        )
        rest = self.api.call_api(
            method, url, header_params=headers,
            _request_timeout=(self.tuning.connect_timeout, self.tuning.read_timeout),
        )  # fmt: skip
        resp: urllib3.BaseHTTPResponse = rest.response
        if resp.status >= 300:
            body = resp.data.decode(errors="replace")
            resp.release_conn()
            raise KubeHTTPError(resp.status, body)
        return resp

    def _follow_once(self) -> bool:
        """One follow request; True when the server ended it (the container stopped or the pod went)."""
        resp = self._open()
        self._response = resp
        skip = self.position.ts_count
        try:
            for raw in self._split(resp):
                if self.stop_event.is_set():
                    return False
                parsed = split_timestamp(raw.decode("utf-8", errors="replace"))
                if parsed is None:
                    continue  # every line carries a timestamp with timestamps=true
                ts, text = parsed
                if "\x00" in text:
                    text = text.replace("\x00", "\ufffd")  # Postgres text cannot hold NUL
                pos = self.position
                if pos.last_ts is not None and ts < pos.last_ts:
                    continue
                if pos.last_ts is not None and ts == pos.last_ts:
                    if skip > 0:
                        skip -= 1
                        continue
                    pos.ts_count += 1
                else:
                    pos.last_ts, pos.ts_count, skip = ts, 1, 0
                self._offer(Line(pos.last_seq + 1, ts, text, pos.ts_count))
        finally:
            self._response = None
            resp.release_conn()
        return not self.stop_event.is_set()

    def _offer(self, line: Line) -> None:
        try:
            self.lines.put(line, timeout=self.tuning.throttle_seconds)
        except queue.Full:
            self.dropped += 1
            return
        self.position.last_seq = line.seq
        self.wake.set()

    def _split(self, resp: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        """Lines of the body; a line over the limit is cut there (and counted), the rest of it skipped."""
        limit = self.tuning.max_line_bytes
        buf = b""
        cutting = False
        for chunk in resp.stream(65_536):
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line, buf = buf[:nl], buf[nl + 1 :]
                if cutting:
                    cutting = False
                    continue
                yield line
            if len(buf) > limit:
                if not cutting:
                    self.truncated += 1
                    yield buf[:limit]
                cutting = True
                buf = b""
        if buf and not cutting:
            yield buf
