"""Watch conformance: resume from a resourceVersion, synthetic ADDED, bookmarks, 410 after compaction,
selector transitions, sendInitialEvents, timeouts and server-side closing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import configmap, wait_for


def raw_watch(
    kubesim: RunningKubeSim, path: str, params: dict[str, Any], limit: float = 10.0
) -> Iterator[dict]:  # type: ignore[type-arg]
    """The wire events of a watch, one JSON document per line, with a hard deadline."""
    with httpx.stream("GET", kubesim.url + path, params={"watch": "1", **params}, timeout=limit) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line:
                yield json.loads(line)


def collect(kubesim: RunningKubeSim, path: str, params: dict[str, Any], count: int) -> list[dict]:  # type: ignore[type-arg]
    events = []
    for ev in raw_watch(kubesim, path, params):
        events.append(ev)
        if len(events) == count:
            break
    return events


def summary(events: list[dict]) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def test_watch_resumes_from_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, configmap("a"))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, configmap("b"))
    core.patch_namespaced_config_map("a", namespace, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("b", namespace)
    seen = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


def test_watch_without_resource_version_starts_with_current_state(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, configmap("old"))
    seen: list[tuple[str, str]] = []
    w = watch.Watch()

    def later() -> None:
        core.create_namespaced_config_map(namespace, configmap("new"))

    timer = threading.Timer(0.2, later)
    timer.start()
    for ev in w.stream(core.list_namespaced_config_map, namespace, timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    timer.join()
    assert seen == [("ADDED", "old"), ("ADDED", "new")]


def test_bookmarks_carry_only_the_resource_version(kubesim: RunningKubeSim, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    for ev in raw_watch(kubesim, path, {"allowWatchBookmarks": "true", "resourceVersion": "0"}):
        if ev["type"] == "BOOKMARK":
            obj = ev["object"]
            assert obj["kind"] == "ConfigMap"
            assert set(obj["metadata"]) <= {"resourceVersion", "creationTimestamp", "annotations"}
            assert int(obj["metadata"]["resourceVersion"]) > 0
            break


def test_too_old_resource_version_gives_410_then_relist_works(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, configmap("before"))
    old_rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, configmap("after"))
    httpx.post(kubesim.url + "/_sim/compact").raise_for_status()
    events = collect(kubesim, f"/api/v1/namespaces/{namespace}/configmaps", {"resourceVersion": old_rv}, 1)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"
    # The official client surfaces it as ApiException(410) ...
    w = watch.Watch()
    with pytest.raises(ApiException) as exc:
        for _ in w.stream(
            core.list_namespaced_config_map, namespace, resource_version=old_rv, timeout_seconds=3
        ):
            pass
    assert exc.value.status == 410
    # ... and the cure, a fresh list and a watch from its resourceVersion, works.
    fresh = core.list_namespaced_config_map(namespace)
    assert [o.metadata.name for o in fresh.items] == ["after", "before"]
    core.delete_namespaced_config_map("before", namespace)
    for ev in w.stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=fresh.metadata.resource_version,
        timeout_seconds=5,
    ):
        assert (ev["type"], ev["object"].metadata.name) == ("DELETED", "before")
        w.stop()


def test_expired_continue_token_gives_410(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    for i in range(3):
        core.create_namespaced_config_map(namespace, configmap(f"c{i}"))
    page = core.list_namespaced_config_map(namespace, limit=1)
    core.create_namespaced_config_map(namespace, configmap("c9"))
    # Compaction drops history up to now: the page's resourceVersion is older than that.
    httpx.post(kubesim.url + "/_sim/compact").raise_for_status()
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(namespace, limit=1, _continue=page.metadata._continue)
    assert exc.value.status == 410
    assert json.loads(exc.value.body)["reason"] == "Expired"


def test_selector_watch_sees_objects_enter_and_leave(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, configmap("m", {"team": "a"}))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.patch_namespaced_config_map("m", namespace, {"metadata": {"labels": {"team": "b"}}})
    core.patch_namespaced_config_map("m", namespace, {"metadata": {"labels": {"team": "a"}}})
    core.patch_namespaced_config_map("m", namespace, {"data": {"k": "x"}})
    events = collect(
        kubesim,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"resourceVersion": rv, "labelSelector": "team=a"},
        3,
    )
    assert summary(events) == [("DELETED", "m"), ("ADDED", "m"), ("MODIFIED", "m")]
    # The DELETED carries the last matching state, stamped with the change's resourceVersion.
    assert events[0]["object"]["metadata"]["labels"] == {"team": "a"}
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_send_initial_events_ends_with_marked_bookmark(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, configmap("i1"))
    core.create_namespaced_config_map(namespace, configmap("i2"))
    params = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    events = collect(kubesim, f"/api/v1/namespaces/{namespace}/configmaps", params, 3)
    assert summary(events)[:2] == [("ADDED", "i1"), ("ADDED", "i2")]
    assert events[2]["type"] == "BOOKMARK"
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_timeout_seconds_ends_the_stream(kubesim: RunningKubeSim, namespace: str) -> None:
    started = time.monotonic()
    events = list(raw_watch(kubesim, f"/api/v1/namespaces/{namespace}/configmaps", {"timeoutSeconds": "1"}))
    assert events == []
    assert 0.9 <= time.monotonic() - started < 15  # generous: CI machines are busy


def test_admin_can_close_every_watch(kubesim: RunningKubeSim, namespace: str) -> None:
    ended = threading.Event()

    def watch_forever() -> None:
        list(
            raw_watch(
                kubesim, f"/api/v1/namespaces/{namespace}/configmaps", {"resourceVersion": "0"}, limit=30
            )
        )
        ended.set()

    thread = threading.Thread(target=watch_forever, daemon=True)
    thread.start()
    wait_for(lambda: httpx.get(kubesim.url + "/_sim/state").json()["watches"] > 0, 5, "the watch to open")
    closed = httpx.post(kubesim.url + "/_sim/watches/close").json()["closed"]
    assert closed >= 1
    assert ended.wait(5)


def test_watch_of_all_namespaces_and_events_v1(
    core: client.CoreV1Api, namespace: str, api_client: client.ApiClient
) -> None:
    core.create_namespaced_event(
        namespace,
        {
            "metadata": {"name": "ev1"},
            "involvedObject": {"kind": "Pod", "name": "x", "namespace": namespace},
            "reason": "Testing",
            "message": "hello",
            "type": "Normal",
        },
    )
    v1 = client.EventsV1Api(api_client).list_namespaced_event(namespace)
    assert [(e.reason, e.note, e.regarding.name) for e in v1.items] == [("Testing", "hello", "x")]


def test_official_client_handles_bookmarks(core: client.CoreV1Api, namespace: str) -> None:
    w = watch.Watch()
    kinds = []
    for ev in w.stream(core.list_namespaced_pod, namespace, allow_watch_bookmarks=True, timeout_seconds=5):
        kinds.append(ev["type"])
        if ev["type"] == "BOOKMARK":
            w.stop()
    assert kinds[-1] == "BOOKMARK"
    assert int(w.resource_version) > 0


def test_events_v1_create_and_watch(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    events_v1 = client.EventsV1Api(api_client)
    rv = events_v1.list_namespaced_event(namespace).metadata.resource_version
    events_v1.create_namespaced_event(
        namespace,
        {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "v1ev"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "podium.dev/test",
            "reportingInstance": "test-1",
            "action": "Testing",
            "reason": "Tested",
            "note": "from events.k8s.io",
            "type": "Normal",
            "regarding": {"kind": "Pod", "name": "p", "namespace": namespace},
        },
    )
    # The same object, seen through core/v1.
    core_ev = core.read_namespaced_event("v1ev", namespace)
    assert (core_ev.message, core_ev.involved_object.name, core_ev.reason) == (
        "from events.k8s.io",
        "p",
        "Tested",
    )
    w = watch.Watch()
    for ev in w.stream(events_v1.list_namespaced_event, namespace, resource_version=rv, timeout_seconds=5):
        assert ev["type"] == "ADDED"
        assert ev["object"].note == "from events.k8s.io"
        w.stop()


def test_disconnected_watchers_are_released(kubesim: RunningKubeSim, namespace: str) -> None:
    def open_watches() -> int:
        return int(httpx.get(kubesim.url + "/_sim/state").json()["watches"])

    # Watches of earlier tests on this server are released as their clients go; wait for quiet.
    wait_for(lambda: open_watches() == 0, 10, "earlier watches to be released")
    before = 0
    with httpx.stream(
        "GET", f"{kubesim.url}/api/v1/namespaces/{namespace}/configmaps", params={"watch": "1"}
    ):
        wait_for(lambda: open_watches() == before + 1, 5, "the watch to be counted")
    wait_for(lambda: open_watches() == before, 10, "the disconnected watch to be released")
