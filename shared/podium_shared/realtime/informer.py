"""One informer per cluster and kind: list, then watch from the list's resourceVersion, forever.

The rules are those of client-go's reflector: resourceVersions are opaque and tracked from every event,
BOOKMARKs included (`allowWatchBookmarks` is always requested); each watch asks the server to end it
after a randomised `timeoutSeconds` (so many watchers don't reconnect in lockstep) and the socket has a
read deadline, because a silent network would otherwise hang the official client forever; 410 Gone
means the history we need is compacted away, so we relist and the writer replaces the snapshot; errors
back off exponentially with jitter, and a 429 waits for its Retry-After.

The reader never waits on Redis while a watch is open: events go into a bounded queue that the
cluster's writer drains. If the queue is full, the informer closes the watch and relists once there is
room again: the full list supersedes the events it could not queue, so nothing is silently lost."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client import ApiClient

from podium_shared.realtime.metrics import RELISTS, WATCH_ERRORS, WATCH_RESTARTS
from podium_shared.realtime.resources import WatchedResource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchTuning:
    watch_timeout_min: float = 300.0
    watch_timeout_max: float = 600.0
    inactivity_timeout: float = 90.0  # no byte (not even a bookmark) for this long: reopen the watch
    connect_timeout: float = 10.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    page_size: int = 500
    # List pages of one informer handed on and not yet written: the next page is fetched only when the
    # writer has caught up, so a relist of a big cluster never holds more than this many pages decoded
    # (a list read faster than it was written once kept all 20,000 pods in memory, and the process kept
    # the peak).
    pages_in_flight: int = 2
    crd_recheck: float = 60.0
    queue_size: int = 10_000


@dataclass
class Item:
    """What an informer hands the writer: one watch event, or one step of a relist that replaces the kind."""

    resource: str
    event: str  # ADDED | MODIFIED | DELETED, or LIST_START | LIST_PAGE | LIST_END (a relist)
    obj: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None
    read_at: float = field(default_factory=time.monotonic)
    # LIST_PAGE: called by the writer once the page is written (frees the informer's page slot).
    done: Callable[[], None] | None = field(default=None, repr=False)


class KubeHTTPError(Exception):
    def __init__(self, status: int, body: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.retry_after = retry_after


class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog): spreads reconnect storms."""

    def __init__(self, base: float, cap: float, rng: random.Random) -> None:
        self.base, self.cap, self.rng, self.attempt = base, cap, rng, 0

    def next(self) -> float:
        delay = self.rng.uniform(0, min(self.cap, self.base * 2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Informer(threading.Thread):
    def __init__(  # noqa: PLR0917 - a thread built in one place, all parts required
        self,
        cluster: str,
        api: ApiClient,
        resource: WatchedResource,
        out: queue.Queue[Item],
        stop: threading.Event,
        tuning: WatchTuning,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(name=f"informer-{cluster}-{resource.name}", daemon=True)
        self.cluster = cluster
        self.api = api
        self.resource = resource
        self.out = out
        self.stop_event = stop
        self.tuning = tuning
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.resource_version: str | None = None
        self._page_slots = threading.BoundedSemaphore(max(1, tuning.pages_in_flight))
        self.synced = threading.Event()  # set after the first list reached the queue
        self._response: urllib3.BaseHTTPResponse | None = None
        self._backoff = Backoff(tuning.backoff_base, tuning.backoff_max, self.rng)

    # --- HTTP through the official client's configured connection (auth, TLS, proxy) -------------------

    def _get(self, path: str, query: list[tuple[str, Any]], read_timeout: float) -> urllib3.BaseHTTPResponse:
        method, url, headers, _body, _post = self.api.param_serialize(
            "GET", path, query_params=query, header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )  # fmt: skip
        rest = self.api.call_api(
            method, url, header_params=headers, _request_timeout=(self.tuning.connect_timeout, read_timeout)
        )
        resp: urllib3.BaseHTTPResponse = rest.response
        if resp.status >= 300:
            body = resp.data.decode(errors="replace")
            resp.release_conn()
            raise KubeHTTPError(resp.status, body, _retry_after(resp.headers))
        return resp

    def _get_json(self, path: str, query: list[tuple[str, Any]]) -> dict[str, Any]:
        resp = self._get(path, query, max(self.tuning.inactivity_timeout, 30.0))
        try:
            data: dict[str, Any] = json.loads(resp.data)
        finally:
            resp.release_conn()
        return data

    # --- the loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                if self.resource.custom and not self._served():
                    self.stop_event.wait(self.tuning.crd_recheck)
                    continue
                self._list_and_queue()
                self._backoff.reset()
                while not self.stop_event.is_set() and self._watch_once():
                    pass
            except KubeHTTPError as exc:
                WATCH_ERRORS.labels(self.cluster, self.resource.name, str(exc.status)).inc()
                delay = (
                    exc.retry_after
                    if exc.status == 429 and exc.retry_after is not None
                    else self._backoff.next()
                )
                log.warning("%s/%s: %s; retrying in %.2fs", self.cluster, self.resource.name, exc, delay)
                self.stop_event.wait(delay)
            except Exception as exc:
                if self.stop_event.is_set():
                    return
                WATCH_ERRORS.labels(self.cluster, self.resource.name, type(exc).__name__).inc()
                delay = self._backoff.next()
                log.warning("%s/%s: %r; retrying in %.2fs", self.cluster, self.resource.name, exc, delay)
                self.stop_event.wait(delay)

    def abort(self) -> None:
        """Wake a reader blocked on its socket (shutdown, not close: close does not interrupt recv)."""
        resp = self._response
        conn = getattr(resp, "connection", None) if resp is not None else None
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _served(self) -> bool:
        try:
            doc = self._get_json(self.resource.group_path, [])
        except KubeHTTPError as exc:
            if exc.status == 404:
                return False
            raise
        return any(r.get("name") == self.resource.name for r in doc.get("resources", []))

    def _put(self, item: Item) -> None:
        """Blocking put, used only while no watch is open (so no server buffer fills while we wait)."""
        while not self.stop_event.is_set():
            try:
                self.out.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _put_page(self, items: list[dict[str, Any]]) -> None:
        while not self._page_slots.acquire(timeout=0.5):
            if self.stop_event.is_set():
                return
        self._put(Item(self.resource.name, "LIST_PAGE", items=items, done=self._page_slots.release))

    def _list_and_queue(self) -> None:
        """A paginated list, handed on page by page (LIST_START, LIST_PAGE…, LIST_END) so no one holds
        the whole list of a big cluster; every page is the same snapshot as the first."""
        self._put(Item(self.resource.name, "LIST_START"))
        cont: str | None = None
        rv = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", self.tuning.page_size)]
            if cont:
                query.append(("continue", cont))
            try:
                page = self._get_json(self.resource.path, query)
            except KubeHTTPError as exc:
                if exc.status == 410 and cont:
                    # The continue token outlived the history it points into: start the list over.
                    cont = None
                    self._put(Item(self.resource.name, "LIST_START"))
                    continue
                raise
            meta = page.get("metadata") or {}
            if not cont:
                rv = str(meta.get("resourceVersion", ""))
            items = page.get("items") or []
            for obj in items:
                obj.setdefault("kind", self.resource.kind)
                obj.setdefault("apiVersion", self.resource.api_version)
            self._put_page(items)
            if self.stop_event.is_set():
                return
            cont = meta.get("continue") or None
            if not cont:
                break
        self.resource_version = rv
        self._put(Item(self.resource.name, "LIST_END"))
        self.synced.set()

    def _lines(self, resp: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        buf = b""
        for chunk in resp.stream(65536):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield line
        if buf.strip():
            yield buf

    def _watch_once(self) -> bool:
        """One watch call. True: reopen from the tracked resourceVersion; False: relist first."""
        timeout = int(self.rng.uniform(self.tuning.watch_timeout_min, self.tuning.watch_timeout_max))
        query: list[tuple[str, Any]] = [
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", max(1, timeout)),
            ("resourceVersion", self.resource_version or ""),
        ]  # fmt: skip
        try:
            resp = self._get(self.resource.path, query, self.tuning.inactivity_timeout)
        except KubeHTTPError as exc:
            if exc.status == 410:
                RELISTS.labels(self.cluster, self.resource.name, "gone").inc()
                return False
            raise
        self._response = resp
        deadline = time.monotonic() + timeout + self.tuning.inactivity_timeout
        reason = "server_closed"
        try:
            for line in self._lines(resp):
                if self.stop_event.is_set():
                    return True
                event = json.loads(line)
                etype = event.get("type")
                obj = event.get("object") or {}
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        RELISTS.labels(self.cluster, self.resource.name, "gone").inc()
                        return False
                    raise KubeHTTPError(int(obj.get("code") or 500), str(obj.get("message")))
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    self.resource_version = str(rv)
                if etype in ("ADDED", "MODIFIED", "DELETED"):
                    try:
                        self.out.put_nowait(Item(self.resource.name, etype, obj=obj))
                    except queue.Full:
                        RELISTS.labels(self.cluster, self.resource.name, "queue_full").inc()
                        return False
                if time.monotonic() > deadline:
                    reason = "client_deadline"
                    break
        except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError, OSError) as exc:
            # Silence past the inactivity deadline, or a dropped connection: reopen from the last RV.
            reason = type(exc).__name__
        finally:
            self._response = None
            resp.release_conn()
        WATCH_RESTARTS.labels(self.cluster, self.resource.name, reason).inc()
        self._backoff.reset()
        # A little jitter before reopening, so a server that closed every watch is not hit all at once.
        self.stop_event.wait(self.rng.uniform(0, min(0.2, self.tuning.backoff_base)))
        return True
