"""The WebSocket protocol against the real API (uvicorn on a port) and a real Redis, with events written
exactly as the watcher and the operation pipeline write them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from podium_api.app import create_app
from podium_shared.embedded import EmbeddedRedis, free_port
from podium_shared.models.user import Role
from podium_shared.realtime import stream
from podium_shared.realtime.hub import Hub, HubTuning
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter
from redis import Redis
from watcher.realtime_fixtures import ServedApi, WsClient, own_redis, served_api, wait_until, ws_client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.fixtures import ApiUser

__all__ = ["own_redis", "served_api", "ws_client"]  # fixtures used by name below


def pod(name: str, rv: int, ns: str = "team-a", **labels: str) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(rv), "labels": labels},
    }


class Cluster:
    """Writes changes the way the watcher does (fenced Lua apply), for one registered cluster."""

    def __init__(self, redis_url: str, name: str) -> None:
        self.name = name
        self.redis: Redis[bytes] = Redis.from_url(redis_url)
        token = LeaderLock(self.redis, name, "test", ttl_seconds=300).try_acquire()
        assert token
        self.writer = StateWriter(self.redis, name, token)
        self.rv = 0

    def change(self, kind: str, event: str, obj: dict[str, Any]) -> str:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        change = self.writer.plan(kind, event, obj)
        assert change is not None
        return self.writer.write([change])[0]

    def ids(self, topic: str, after: str = "0-0") -> list[str]:
        return [e.id for e in stream.read_after(self.redis, self.name, after, 100_000)[1] if e.topic == topic]


@pytest.fixture
def k8s(own_redis: EmbeddedRedis, cluster: str) -> Iterator[Cluster]:
    c = Cluster(own_redis.url, cluster)
    yield c
    c.redis.close()


def test_token_is_required_header_or_query(served_api: ServedApi, admin: ApiUser) -> None:
    url = served_api.url.replace("http", "ws") + "/api/v1/ws"
    with connect(url, open_timeout=5) as ws:
        ws.send(json.dumps({"type": "ping"}))  # anything but an auth message
        assert json.loads(ws.recv(timeout=5))["code"] == "unauthenticated"
        # ConnectionClosed only: a bare Exception would also accept recv's TimeoutError (never closed).
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 4401
    with connect(f"{url}?token={admin.token}", open_timeout=5) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "pong"
    with connect(url, open_timeout=5) as ws:  # a browser that keeps the token out of URLs and logs
        ws.send(json.dumps({"type": "auth", "token": admin.token}))
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "pong"
    with connect(url, open_timeout=5) as ws:
        ws.send(json.dumps({"type": "auth", "token": "wrong"}))
        assert json.loads(ws.recv(timeout=5))["code"] == "unauthenticated"


def test_snapshot_then_live_events_in_order(
    served_api: ServedApi, ws_client: Callable[[str], WsClient], admin: ApiUser, k8s: Cluster
) -> None:
    k8s.change("pods", "ADDED", pod("a", 0))
    k8s.change(
        "deployments", "ADDED", {"kind": "Deployment", "metadata": {"name": "d", "namespace": "team-a"}}
    )
    ws = ws_client(admin.token)
    ws.subscribe("p", k8s.name, "pods")
    wait_until(lambda: ws.of_type("snapshot", "p"), 5, "the snapshot")
    assert list(ws.view("p")) == ["team-a/a"]
    ids = [k8s.change("pods", "ADDED", pod(f"p{i}", 0)) for i in range(20)]
    ids.append(k8s.change("pods", "DELETED", pod("a", 0)))
    k8s.change(
        "deployments", "MODIFIED", {"kind": "Deployment", "metadata": {"name": "d", "namespace": "team-a"}}
    )
    wait_until(lambda: len(ws.of_type("event", "p")) == 21, 5, "the live events")
    assert [m["id"] for m in ws.of_type("event", "p")] == ids  # once each, in order, nothing else
    assert "team-a/a" not in ws.view("p")
    assert len(ws.view("p")) == 20
    # Under uvicorn the live events went out as frames written straight to the socket (ClientConn.direct),
    # so the order above holds on that path too.
    feed = served_api.app.state.realtime_hub.feeds[k8s.name]
    assert [client.direct is not None for client, _sub in feed.subs.values()] == [True]


def test_reconnect_with_since_gets_exactly_the_missed_events(
    ws_client: Callable[[str], WsClient], admin: ApiUser, k8s: Cluster
) -> None:
    first = ws_client(admin.token)
    first.subscribe("p", k8s.name, "pods")
    wait_until(lambda: first.of_type("snapshot", "p"), 5, "the snapshot")
    for i in range(5):
        k8s.change("pods", "ADDED", pod(f"before{i}", 0))
    wait_until(lambda: len(first.of_type("event", "p")) == 5, 5, "the first events")
    last_seen = first.of_type("event", "p")[-1]["id"]
    first.close()

    missed = []
    for i in range(30):
        missed.append(k8s.change("pods", "ADDED", pod(f"missed{i}", 0)))
        k8s.change(
            "services", "ADDED", {"kind": "Service", "metadata": {"name": f"s{i}", "namespace": "team-a"}}
        )
    missed.append(k8s.change("pods", "MODIFIED", pod("missed0", 0, new="label")))

    again = ws_client(admin.token)
    again.subscribe("p", k8s.name, "pods", since=last_seen)
    wait_until(lambda: len(again.of_type("event", "p")) >= len(missed), 5, "the replay")
    after = k8s.change("pods", "ADDED", pod("after", 0))
    wait_until(
        lambda: len(again.of_type("event", "p")) == len(missed) + 1, 5, "the live event after the replay"
    )
    assert [m["id"] for m in again.of_type("event", "p")] == [*missed, after]
    assert again.of_type("snapshot") == []
    assert again.of_type("resync") == []


def test_since_outside_the_window_resyncs_with_the_snapshot(
    ws_client: Callable[[str], WsClient], admin: ApiUser, k8s: Cluster
) -> None:
    old = k8s.change("pods", "ADDED", pod("gone-soon", 0))
    for i in range(50):
        k8s.change("pods", "ADDED", pod(f"p{i}", 0))
    k8s.redis.xtrim(stream.stream_key(k8s.name), maxlen=10, approximate=False)
    ws = ws_client(admin.token)
    ws.subscribe("p", k8s.name, "pods", since=old)
    wait_until(lambda: ws.of_type("resync", "p"), 5, "the resync")
    assert len(ws.view("p")) == 51
    # A position this stream never produced (e.g. Redis lost its data) also resyncs.
    ws.subscribe("q", k8s.name, "pods", since="99999999999999-0")
    wait_until(lambda: ws.of_type("resync", "q"), 5, "the second resync")


def test_permissions_and_selectors_filter_what_arrives(
    ws_client: Callable[[str], WsClient], make_user: Callable[..., ApiUser], k8s: Cluster
) -> None:
    scoped = make_user(Role.viewer, namespaces=["team-a"])
    k8s.change("pods", "ADDED", pod("mine", 0, app="web"))
    k8s.change("pods", "ADDED", pod("theirs", 0, ns="team-b", app="web"))
    ws = ws_client(scoped.token)
    ws.subscribe("all", k8s.name, "pods")
    ws.subscribe("web", k8s.name, "pods", labelSelector="app=web")
    ws.subscribe("ops", k8s.name, "operations")
    ws.subscribe("nodes", k8s.name, "nodes")
    ws.subscribe("team-a", k8s.name, "pods", namespace="team-a")
    wait_until(lambda: len(ws.of_type("snapshot")) == 5, 5, "the snapshots")
    assert list(ws.view("all")) == ["team-a/mine"]
    assert list(ws.view("web")) == ["team-a/mine"]
    assert list(ws.view("team-a")) == ["team-a/mine"]

    k8s.change("pods", "MODIFIED", pod("theirs", 0, ns="team-b", app="db"))  # invisible to this user
    k8s.change(
        "nodes", "ADDED", {"kind": "Node", "metadata": {"name": "n1"}}
    )  # cluster-scoped: unscoped only
    k8s.change("pods", "MODIFIED", pod("mine", 0, app="db"))  # leaves app=web: DELETED for "web"
    k8s.change("pods", "MODIFIED", pod("mine", 0, app="web"))  # back again: ADDED for "web"
    stream.publish(
        k8s.redis,
        k8s.name,
        "operations",
        "ADDED",
        {"id": "1", "requested_by": "someone", "namespace": "team-b"},
    )
    stream.publish(
        k8s.redis,
        k8s.name,
        "operations",
        "ADDED",
        {"id": "2", "requested_by": "someone", "namespace": "team-a"},
    )
    stream.publish(
        k8s.redis,
        k8s.name,
        "operations",
        "ADDED",
        {"id": "3", "requested_by": scoped.username, "namespace": None},
    )
    marker = k8s.change("pods", "ADDED", pod("marker", 0))
    wait_until(lambda: any(m["id"] == marker for m in ws.of_type("event", "all")), 5, "the marker")
    wait_until(lambda: len(ws.of_type("event", "ops")) == 2, 5, "the operations")

    assert [m["event"] for m in ws.of_type("event", "web")] == ["DELETED", "ADDED"]
    assert [m["event"] for m in ws.of_type("event", "all")] == ["MODIFIED", "MODIFIED", "ADDED"]
    assert [m["object"]["id"] for m in ws.of_type("event", "ops")] == ["2", "3"]
    assert ws.of_type("event", "nodes") == []
    assert ws.view("nodes") == {}
    assert all(m["object"].get("metadata", {}).get("namespace") != "team-b" for m in ws.of_type("event"))


def test_bad_messages_get_clear_errors(
    ws_client: Callable[[str], WsClient], admin: ApiUser, k8s: Cluster
) -> None:
    ws = ws_client(admin.token)
    ws.conn.send("not json")
    ws.subscribe("x", k8s.name, "secrets")
    ws.subscribe("y", "no-such-cluster", "pods")
    ws.subscribe("z", k8s.name, "pods", since="yesterday")
    ws.subscribe("w", k8s.name, "pods", labelSelector="a in")
    wait_until(lambda: len(ws.of_type("error")) == 5, 5, "five errors")
    codes = [m["code"] for m in ws.of_type("error")]
    assert codes == ["invalid", "invalid", "unknown_cluster", "invalid", "invalid"]
    assert ws.closed is None  # errors never end the connection


def test_a_slow_client_is_dropped_without_delaying_others(
    served_api: ServedApi, ws_client: Callable[[str], WsClient], admin: ApiUser, k8s: Cluster
) -> None:
    served_api.app.state.realtime_hub = Hub(
        served_api.app.state.settings.redis_url, HubTuning(client_queue=8, client_buffer_bytes=64 * 1024)
    )
    url = served_api.url.replace("http", "ws") + "/api/v1/ws"
    # max_queue=1: the client library stops reading the socket, and a tiny receive buffer means the
    # server's sends back up after a few megabytes rather than tens.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(served_api.url.rsplit(":", 1)[1])))
    with connect(
        url,
        sock=sock,
        additional_headers={"Authorization": f"Bearer {admin.token}"},
        max_queue=1,
        close_timeout=1,
        max_size=None,
    ) as slow:
        slow.send(json.dumps({"type": "subscribe", "id": "p", "cluster": k8s.name, "topic": "pods"}))
        fast = ws_client(admin.token)
        fast.subscribe("p", k8s.name, "pods")
        wait_until(lambda: fast.of_type("snapshot", "p"), 5, "the fast client's snapshot")
        ids = []
        for i in range(50):  # ~10 MB the slow client never reads (random: WebSocket compression is on)
            obj = pod(f"huge{i}", 0)
            obj["spec"] = {"blob": os.urandom(100_000).hex()}
            ids.append(k8s.change("pods", "ADDED", obj))
        wait_until(lambda: len(fast.of_type("event", "p")) == len(ids), 20, "every event at the fast client")
        assert [m["id"] for m in fast.of_type("event", "p")] == ids
        hub = served_api.app.state.realtime_hub
        feed = hub.feeds[k8s.name]
        wait_until(
            lambda: len(feed.subs) == 1,
            10,
            "the slow client to be dropped",
        )


def test_two_api_replicas_each_serve_their_clients(
    served_api: ServedApi, own_redis: EmbeddedRedis, admin: ApiUser, k8s: Cluster
) -> None:
    """Replicas share nothing but Redis: a client on each sees the same events, in the same order."""
    second = create_app(served_api.app.state.settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(second, host="127.0.0.1", port=port, log_level="warning"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 10, "the second replica")
        clients = [WsClient(served_api.url, admin.token), WsClient(f"http://127.0.0.1:{port}", admin.token)]
        for c in clients:
            c.subscribe("p", k8s.name, "pods")
        wait_until(lambda: all(c.of_type("snapshot", "p") for c in clients), 5, "both snapshots")
        ids = [k8s.change("pods", "ADDED", pod(f"r{i}", 0)) for i in range(25)]
        wait_until(
            lambda: all(len(c.of_type("event", "p")) == 25 for c in clients), 5, "both replicas' events"
        )
        for c in clients:
            assert [m["id"] for m in c.of_type("event", "p")] == ids
            c.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        loop.close()
