"""Fixtures for the realtime end-to-end tests: kubesim over HTTP, a dedicated Redis (these tests
restart it), the API served by uvicorn on a real port, watchers in-process, and a WebSocket client that
records everything it receives and keeps a view of the cluster from the messages alone."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from api.fixtures import unique
from fastapi import FastAPI
from kubernetes import client, config
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.clusters.service import register_cluster
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedRedis, free_port
from podium_shared.realtime.cluster_watch import ClusterWatch, LeaderTuning
from podium_shared.realtime.informer import WatchTuning
from podium_shared.realtime.kubeclient import api_client_from_kubeconfig
from podium_shared.realtime.stream import compare_ids
from redis import Redis
from support.waiting import wait_until
from websockets.sync.client import ClientConnection, connect

FAST_WATCH = WatchTuning(
    watch_timeout_min=2,
    watch_timeout_max=4,
    inactivity_timeout=3,
    connect_timeout=2,
    backoff_base=0.05,
    backoff_max=0.5,
    crd_recheck=1,
)
FAST_LEADER = LeaderTuning(ttl_seconds=2.0, campaign_interval=0.2, touch_interval=0.5)


@pytest.fixture
def kubesim() -> Iterator[RunningKubeSim]:
    with start_kubesim("small", speed=20, bookmark_interval=0.5, history_size=2_000) as running:
        yield running


@pytest.fixture
def kubeconfig(kubesim: RunningKubeSim, tmp_path: Path) -> Path:
    return kubesim.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def kube(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    yield api
    api.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def watched_cluster(database_url: str, kubeconfig: Path) -> str:
    name = unique("rt")
    with unit_of_work(session_factory(database_url)) as session:
        register_cluster(session, name, kubeconfig_path=str(kubeconfig), context="kubesim")
    return name


@dataclass
class Watchers:
    cluster: str
    kubeconfig: Path
    redis_url: str
    running: list[ClusterWatch] = field(default_factory=list)

    def start(self, holder: str) -> ClusterWatch:
        watch = ClusterWatch(
            self.cluster,
            lambda: api_client_from_kubeconfig(self.kubeconfig, "kubesim"),
            Redis.from_url(self.redis_url, socket_timeout=5),
            holder,
            watch=FAST_WATCH,
            leader=FAST_LEADER,
        )
        watch.start()
        self.running.append(watch)
        return watch

    def leader(self) -> ClusterWatch | None:
        return next((w for w in self.running if w.is_leader.is_set() and not w.stop_event.is_set()), None)

    def stop_all(self) -> None:
        for w in self.running:
            w.stop()
        for w in self.running:
            w.join(timeout=10)


@pytest.fixture
def watchers(watched_cluster: str, kubeconfig: Path, own_redis: EmbeddedRedis) -> Iterator[Watchers]:
    ws = Watchers(watched_cluster, kubeconfig, own_redis.url)
    yield ws
    ws.stop_all()


@dataclass
class ServedApi:
    url: str
    app: FastAPI


@pytest.fixture
def served_api(api_settings: ApiSettings, own_redis: EmbeddedRedis) -> Iterator[ServedApi]:
    """The real API (create_app) on a real port, using the dedicated Redis."""
    settings = ApiSettings(**(api_settings.model_dump() | {"redis_url": own_redis.url}))
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "the API to start")
    yield ServedApi(f"http://127.0.0.1:{port}", app)
    server.should_exit = True
    thread.join(timeout=10)
    loop.close()


class WsClient:
    """A WebSocket client that records every message and keeps the view the messages imply."""

    def __init__(self, url: str, token: str) -> None:
        self.conn: ClientConnection = connect(
            url.replace("http", "ws", 1) + "/api/v1/ws",
            additional_headers={"Authorization": f"Bearer {token}"},
            max_size=None,
            open_timeout=10,
            legacy=True,
        )
        self.messages: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, dict[str, Any]]] = {}  # subscription -> key -> object
        self.last_ids: dict[str, str] = {}
        self.order_violations: list[str] = []
        self.closed: tuple[int | None, str] | None = None
        self.error: Exception | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self.conn:
                self._apply(json.loads(raw))
        except Exception as exc:  # the connection ended; the tests look at close codes
            self.error = exc
        self.closed = (self.conn.close_code, self.conn.close_reason or "")

    def _apply(self, msg: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(msg)
            sid = msg.get("subscription")
            if msg["type"] in ("snapshot", "resync") and sid:
                self.views[sid] = {_key(o): o for o in msg["objects"]}
                self._advance(sid, msg["id"], allow_equal=True)
            elif msg["type"] == "event" and sid:
                view = self.views.setdefault(sid, {})
                if msg["event"] == "DELETED":
                    view.pop(_key(msg["object"]), None)
                else:
                    view[_key(msg["object"])] = msg["object"]
                self._advance(sid, msg["id"], allow_equal=False)

    def _advance(self, sid: str, new: str, *, allow_equal: bool) -> None:
        old = self.last_ids.get(sid)
        if old is not None:
            order = compare_ids(new, old)
            if order < 0 or (order == 0 and not allow_equal):
                self.order_violations.append(f"{sid}: {new} after {old}")
        self.last_ids[sid] = new

    def send(self, msg: dict[str, Any]) -> None:
        self.conn.send(json.dumps(msg))

    def subscribe(self, sid: str, cluster: str, topic: str, **extra: Any) -> None:
        self.send({"type": "subscribe", "id": sid, "cluster": cluster, "topic": topic, **extra})

    def of_type(self, kind: str, sid: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                m
                for m in self.messages
                if m["type"] == kind and (sid is None or m.get("subscription") == sid)
            ]

    def view(self, sid: str) -> dict[str, str]:
        """key -> resourceVersion, the comparable essence of what the client believes."""
        with self._lock:
            return {k: o["metadata"].get("resourceVersion", "") for k, o in self.views.get(sid, {}).items()}

    def close(self) -> None:
        self.conn.close()
        self._thread.join(timeout=5)


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))


@pytest.fixture
def ws_client(served_api: ServedApi) -> Iterator[Callable[[str], WsClient]]:
    opened: list[WsClient] = []

    def open_(token: str) -> WsClient:
        c = WsClient(served_api.url, token)
        opened.append(c)
        return c

    yield open_
    for c in opened:
        c.close()
