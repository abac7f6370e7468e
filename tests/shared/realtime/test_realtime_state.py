"""The snapshot and the stream against a real Redis: atomic apply, fencing, replace, replay window."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import pytest
from podium_shared.embedded import EmbeddedRedis
from podium_shared.realtime import stream
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import Fenced, StateWriter, read_objects, read_snapshot, snapshot_age
from podium_shared.realtime.stream import compare_ids, read_after, window
from redis import Redis

_n = itertools.count()


@pytest.fixture
def redis(redis_server: EmbeddedRedis) -> Redis[bytes]:
    return Redis.from_url(redis_server.url)


@pytest.fixture
def cluster() -> str:
    return f"rt-{os.getpid()}-{next(_n)}"


def pod(name: str, rv: int, labels: dict[str, str] | None = None, ns: str = "default") -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": str(rv),
            "uid": f"uid-{name}",
            "labels": labels or {},
            "managedFields": [{"manager": "kubectl"}],
        },
    }


def leader(redis: Redis[bytes], cluster: str, holder: str = "w1") -> str:
    token = LeaderLock(redis, cluster, holder, ttl_seconds=30).try_acquire()
    assert token is not None
    return token


def test_apply_updates_snapshot_and_stream_together(redis: Redis[bytes], cluster: str) -> None:
    writer = StateWriter(redis, cluster, leader(redis, cluster))
    pubsub = redis.pubsub()
    pubsub.subscribe(stream.channel(cluster))
    changes = [
        writer.plan("pods", "ADDED", pod("a", 1, {"app": "x"})),
        writer.plan("pods", "ADDED", pod("b", 2)),
    ]
    changes.append(writer.plan("pods", "MODIFIED", pod("a", 3, {"app": "y"})))
    changes.append(writer.plan("pods", "MODIFIED", pod("a", 3, {"app": "y"})))  # duplicate RV: nothing
    changes.append(writer.plan("pods", "DELETED", pod("b", 4)))
    ids = writer.write([c for c in changes if c is not None])
    assert len(ids) == 4
    assert all(compare_ids(a, b) < 0 for a, b in itertools.pairwise(ids))

    objs = read_objects(redis, cluster, "pods")
    assert [o["metadata"]["name"] for o in objs] == ["a"]
    assert "managedFields" not in objs[0]["metadata"]  # trimmed before storing
    _, events = read_after(redis, cluster, "0-0")
    assert [(e.event, e.object["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]
    assert events[2].prev_labels == {"app": "x"}  # a label-filtered subscriber learns what it was
    live = [m for m in iter(lambda: pubsub.get_message(timeout=1), None) if m["type"] == "message"]
    assert [json.loads(m["data"])["id"] for m in live] == ids
    window_info, snap = read_snapshot(redis, cluster, ["pods"])
    assert window_info.last_id == ids[-1]
    assert [o["metadata"]["name"] for o in snap["pods"]] == ["a"]
    age = snapshot_age(redis, cluster)
    assert age is not None
    assert age < 5


def test_a_fenced_writer_cannot_write(redis: Redis[bytes], cluster: str) -> None:
    old = StateWriter(redis, cluster, leader(redis, cluster, "old"))
    redis.delete(f"podium:leader:{cluster}")  # the old lease expired ...
    new_token = leader(redis, cluster, "new")  # ... and a standby took over with a greater fence
    assert int(new_token.split(":")[0]) > int(old.token.split(":")[0])
    change = old.plan("pods", "ADDED", pod("a", 1))
    assert change is not None
    with pytest.raises(Fenced):
        old.write([change])
    with pytest.raises(Fenced):
        old.touch()
    assert read_objects(redis, cluster, "pods") == []
    assert redis.xlen(stream.stream_key(cluster)) == 0


def test_replace_emits_the_difference_with_redis(redis: Redis[bytes], cluster: str) -> None:
    token = leader(redis, cluster)
    first = StateWriter(redis, cluster, token)
    first.write(first.replace("pods", [pod("keep", 1), pod("change", 1, {"v": "1"}), pod("gone", 1)]))
    # A new term (new writer, empty memory) relists: only real differences become events.
    second = StateWriter(redis, cluster, token)
    changes = second.replace("pods", [pod("keep", 1), pod("change", 2, {"v": "2"}), pod("new", 3)])
    assert sorted((c.event, c.obj["metadata"]["name"]) for c in changes) == [
        ("ADDED", "new"),
        ("DELETED", "gone"),
        ("MODIFIED", "change"),
    ]
    second.write(changes)
    assert [o["metadata"]["name"] for o in read_objects(redis, cluster, "pods")] == ["change", "keep", "new"]
    # After a replace the writer's memory knows the objects: a re-sent ADDED is dropped.
    assert second.plan("pods", "ADDED", pod("keep", 1)) is None


def test_window_tells_whether_a_replay_has_no_gap(redis: Redis[bytes], cluster: str) -> None:
    assert not window(redis, cluster).covers("0-0")  # no stream at all: resync
    ids = [stream.publish(redis, cluster, "operations", "MODIFIED", {"n": i}) for i in range(300)]
    info = window(redis, cluster)
    assert info.covers("0-0")
    assert info.covers(ids[0])
    assert info.covers(ids[-1])
    future = f"{int(ids[-1].split('-')[0]) + 10_000}-0"
    assert not info.covers(future)  # an id this stream never produced
    redis.xtrim(
        stream.stream_key(cluster), maxlen=100, approximate=False
    )  # exact trim: ids[200] is the oldest left
    info = window(redis, cluster)
    assert not info.covers(ids[0])
    assert not info.covers("0-0")
    assert not info.covers(ids[198])
    assert info.covers(ids[200])
    assert info.covers(ids[250])
    _, events = read_after(redis, cluster, ids[200], count=1000)
    assert [e.object["n"] for e in events] == list(range(201, 300))


def test_leader_lock_renew_release_and_takeover(redis: Redis[bytes], cluster: str) -> None:
    a = LeaderLock(redis, cluster, "a", ttl_seconds=30)
    b = LeaderLock(redis, cluster, "b", ttl_seconds=30)
    token = a.try_acquire()
    assert token
    assert token.endswith(":a")
    assert b.try_acquire() is None
    assert a.renew(token)
    assert not b.renew(token.replace(":a", ":b"))
    a.release(token)
    token_b = b.try_acquire()
    assert token_b
    assert not a.renew(token)
    assert b.current() == token_b


def test_a_relist_page_by_page_converges_like_a_whole_list(redis: Redis[bytes], cluster: str) -> None:
    token = leader(redis, cluster)
    first = StateWriter(redis, cluster, token)
    first.write(first.replace("pods", [pod(f"p{i}", 1) for i in range(10)]))
    second = StateWriter(redis, cluster, token)
    second.begin_list("pods")
    page1 = second.list_page("pods", [pod(f"p{i}", 1) for i in range(0, 4)])
    page2 = second.list_page("pods", [pod("p5", 2), pod("fresh", 1)])
    assert page1 == []  # unchanged objects cost nothing
    assert [(c.event, c.obj["metadata"]["name"]) for c in page2] == [("MODIFIED", "p5"), ("ADDED", "fresh")]
    second.write(page2)
    gone = second.end_list("pods")
    assert sorted(c.obj["metadata"]["name"] for c in gone) == ["p4", "p6", "p7", "p8", "p9"]
    assert all(c.event == "DELETED" for c in gone)
    second.write(gone)
    names = [o["metadata"]["name"] for o in read_objects(redis, cluster, "pods")]
    assert names == ["fresh", "p0", "p1", "p2", "p3", "p5"]
