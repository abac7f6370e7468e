"""The informer's watch rules against kubesim over HTTP: 429 + Retry-After, 410 → relist, bookmarks
advance the resourceVersion, CRDs only where served."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from podium_kubesim.runner import RunningKubeSim, write_kubeconfig
from podium_shared.realtime.informer import Informer, Item
from podium_shared.realtime.kubeclient import api_client_from_kubeconfig
from podium_shared.realtime.metrics import RELISTS, WATCH_RESTARTS
from podium_shared.realtime.resources import BY_NAME, WatchedResource
from support.tcp_proxy import TcpProxy
from support.waiting import wait_until

from watcher.realtime_fixtures import FAST_WATCH


class Running:
    def __init__(self, kubeconfig: Path, resource: WatchedResource) -> None:
        self.items: queue.Queue[Item] = queue.Queue(maxsize=1000)
        self.stop = threading.Event()
        self.api = api_client_from_kubeconfig(kubeconfig, "kubesim")
        self.informer = Informer("t", self.api, resource, self.items, self.stop, FAST_WATCH)

    def next(self, event: str, timeout: float = 10.0) -> Item:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.items.get(timeout=0.1)
            except queue.Empty:
                continue
            if item.done is not None:
                item.done()  # a consumer hands each list page's slot back, as the watcher's writer does
            if item.event == event:
                return item
        raise AssertionError(f"no {event} within {timeout}s")


@pytest.fixture
def run(kubeconfig: Path) -> Iterator[object]:
    started: list[Running] = []

    def run_(resource: WatchedResource, *, start: bool = True) -> Running:
        r = Running(kubeconfig, resource)
        started.append(r)
        if start:
            r.informer.start()
        return r

    yield run_
    for r in started:
        r.stop.set()
        r.informer.abort()
        r.informer.join(timeout=10)
        r.api.close()


def sample(counter: object, **labels: str) -> float:
    return float(counter.labels(**labels)._value.get())  # type: ignore[attr-defined]


def test_a_429_waits_for_its_retry_after(kubesim: RunningKubeSim, run: object) -> None:
    # urllib3 under the official client honours Retry-After itself (and the informer does when the
    # client's retries are exhausted); either way the list must not come back before the server's delay.
    httpx.post(
        f"{kubesim.url}/_sim/faults",
        json={"verb": "list", "resource": "pods", "status": 429, "count": 1, "retry_after": 1},
    ).raise_for_status()
    t0 = time.monotonic()
    r = run(BY_NAME["pods"])  # type: ignore[operator]
    r.next("LIST_END")
    assert time.monotonic() - t0 >= 0.9  # not the ~50 ms backoff: the server asked for a second
    assert httpx.get(f"{kubesim.url}/_sim/faults").json()["rules"] == []  # the 429 was served


def test_gone_relists_and_bookmarks_advance_the_version(
    kubesim: RunningKubeSim, run: object, kube: client.ApiClient
) -> None:
    r = run(BY_NAME["pods"])  # type: ignore[operator]
    r.next("LIST_END")
    core = client.CoreV1Api(kube)
    # Changes elsewhere move the store's version; the pods watch learns it from BOOKMARKs alone.
    seen = r.informer.resource_version
    core.create_namespaced_config_map("podium", {"metadata": {"name": "bump"}})
    wait_until(lambda: r.informer.resource_version != seen, 10, "a BOOKMARK to move the resource version")
    assert r.informer.resource_version != seen

    gone = sample(RELISTS, cluster="t", kind="pods", reason="gone")
    r.informer.resource_version = "1"  # as if we had been away while the history was compacted
    httpx.post(f"{kubesim.url}/_sim/compact").raise_for_status()
    httpx.post(f"{kubesim.url}/_sim/watches/close").raise_for_status()
    r.next("LIST_END")
    assert sample(RELISTS, cluster="t", kind="pods", reason="gone") == gone + 1


def test_custom_resources_only_where_served(run: object) -> None:
    r = run(WatchedResource("widgets", "Widget", "example.com", "v1", custom=True))  # type: ignore[operator]
    served = run(BY_NAME["pytorchjobs"])  # type: ignore[operator]
    served.next("LIST_END")  # kubesim serves the Kubeflow CRD
    assert r.items.empty()
    assert not r.informer.synced.is_set()


def test_a_silent_network_does_not_hang_the_watch(
    kubesim: RunningKubeSim, tmp_path: Path, kube: client.ApiClient
) -> None:
    proxy = TcpProxy(kubesim.port)
    kubeconfig = write_kubeconfig(tmp_path / "via-proxy", f"http://127.0.0.1:{proxy.port}")
    items: queue.Queue[Item] = queue.Queue()
    stop = threading.Event()
    api = api_client_from_kubeconfig(kubeconfig, "kubesim")
    informer = Informer("silent", api, BY_NAME["pods"], items, stop, FAST_WATCH)
    informer.start()
    try:
        wait_until(informer.synced.is_set, 10, "the informer's first list")
        assert informer.synced.is_set()
        before = sample(WATCH_RESTARTS, cluster="silent", kind="pods", reason="ReadTimeoutError")
        proxy.silent.set()  # no bytes, no FIN, no RST: only the read deadline can notice
        wait_until(
            lambda: (
                sample(WATCH_RESTARTS, cluster="silent", kind="pods", reason="ReadTimeoutError") != before
            ),
            FAST_WATCH.inactivity_timeout + 5,
            "the watch to restart (it hung on a silent connection)",
            interval=0.1,
        )
        proxy.silent.clear()  # the network comes back: the reopened watch delivers again
        client.CoreV1Api(kube).create_namespaced_pod(
            "podium",
            {"metadata": {"name": "after-silence"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
        )
        deadline = time.monotonic() + 15
        names: list[str] = []
        while "after-silence" not in names:
            assert time.monotonic() < deadline, "no event after the network came back"
            try:
                item = items.get(timeout=0.2)
            except queue.Empty:
                continue
            names += [
                (o.get("metadata") or {}).get("name") for o in ([item.obj] if item.obj else item.items or [])
            ]
    finally:
        stop.set()
        informer.abort()
        informer.join(timeout=10)
        api.close()
        proxy.close()


def test_a_relist_holds_at_most_its_pages_in_flight(kubeconfig: Path, kube: client.ApiClient) -> None:
    """The informer fetches its next list page only once the writer has written one of the pages it
    holds, so a big cluster's list is never decoded whole in memory."""
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": "paged"}})
    for i in range(12):
        core.create_namespaced_service(
            "paged", {"metadata": {"name": f"s{i}"}, "spec": {"ports": [{"port": 80}]}}
        )
    items: queue.Queue[Item] = queue.Queue()
    stop = threading.Event()
    tuning = dataclasses.replace(FAST_WATCH, page_size=2, pages_in_flight=2)
    informer = Informer(
        "paged", api_client_from_kubeconfig(kubeconfig, "kubesim"), BY_NAME["services"], items, stop, tuning
    )
    informer.start()
    try:
        assert items.get(timeout=10).event == "LIST_START"
        held = [items.get(timeout=10), items.get(timeout=10)]
        assert [i.event for i in held] == ["LIST_PAGE", "LIST_PAGE"]
        with pytest.raises(queue.Empty):
            items.get(timeout=1.0)  # a third page waits for a slot
        pages = len(held)
        for page in held:
            assert page.done is not None
            page.done()
        while (item := items.get(timeout=10)).event == "LIST_PAGE":
            pages += 1
            assert item.done is not None
            item.done()
        assert item.event == "LIST_END"
        assert pages >= 6  # every service (and kubesim's own) came, two at a time
    finally:
        stop.set()
        informer.abort()
        informer.join(5)
