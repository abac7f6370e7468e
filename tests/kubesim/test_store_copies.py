"""The store's copy rules: what a caller may keep or change, and that past versions never change."""

from __future__ import annotations

import copy
from typing import Any

from podium_kubesim.resources import RESOURCES
from podium_kubesim.store import Store

PODS = RESOURCES["pods"]


def _store() -> Store:
    store = Store()
    store.create(RESOURCES["namespaces"], None, {"metadata": {"name": "ns"}})
    return store


def _pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"a": "1"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx", "args": None}]},
    }


def test_default_writes_copy_in_and_out() -> None:
    store = _store()
    body = _pod("p")
    created = store.create(PODS, "ns", body)
    body["metadata"]["labels"]["a"] = "changed by the caller"
    created["spec"]["containers"][0]["image"] = "changed by the caller"
    stored = store.peek(PODS, "ns", "p")
    assert stored is not None
    assert stored["metadata"]["labels"] == {"a": "1"}
    assert stored["spec"]["containers"][0]["image"] == "nginx"
    assert "args" not in stored["spec"]["containers"][0]  # nulls are dropped by the copy


def test_owned_create_hands_the_dict_over_and_returns_the_stored_object() -> None:
    store = _store()
    body = _pod("p")
    del body["spec"]["containers"][0]["args"]
    created = store.create(PODS, "ns", body, owned=True)
    assert created is body
    assert store.peek(PODS, "ns", "p") is body


def test_writes_never_change_past_versions() -> None:
    store = _store()
    store.create(PODS, "ns", _pod("p"))
    first = store.peek(PODS, "ns", "p")
    assert first is not None
    snapshot = copy.deepcopy(first)

    def running(o: dict[str, Any]) -> None:
        o["status"]["phase"] = "Running"
        o["status"].setdefault("conditions", []).append({"type": "Ready", "status": "True"})

    after_status = store.mutate(PODS, "ns", "p", running, subresource="status")
    after_labels = store.mutate(PODS, "ns", "p", lambda o: o["metadata"]["labels"].update(b="2"))
    assert first == snapshot  # the first version, still referenced by watch history, is untouched
    assert after_status["status"]["phase"] == "Running"
    assert "b" not in after_status["metadata"]["labels"]
    assert after_labels["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert after_labels["status"]["phase"] == "Running"
    assert [ev.raw["metadata"]["resourceVersion"] for ev in store.history][-3:] == [
        first["metadata"]["resourceVersion"],
        after_status["metadata"]["resourceVersion"],
        after_labels["metadata"]["resourceVersion"],
    ]
    # A dry-run update answers a private object: changing it changes nothing stored.
    dry = store.update(PODS, "ns", "p", {"status": {"phase": "Failed"}}, subresource="status", dry_run=True)
    dry["metadata"]["labels"]["a"] = "changed by the caller"
    assert after_labels["metadata"]["labels"]["a"] == "1"
