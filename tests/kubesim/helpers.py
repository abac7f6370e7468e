"""Builders and waits shared by the kubesim tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import watch

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.02,
) -> T:
    """Poll `predicate` until it returns something truthy; fail with a clear message at the deadline.

    Deadlines are generous on purpose (a loaded 2-core CI machine runs everything several times slower);
    a passing test returns as soon as the condition holds.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last  # type: ignore[no-any-return]
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


def watch_until(
    list_fn: Callable[..., Any],
    *args: Any,
    until: Callable[[dict[str, Any]], bool],
    timeout: int = 30,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Watch with the official client (from `resource_version=` in kwargs) until `until(event)` holds;
    returns every event seen, the last one matching. Events cannot be missed the way polled states can."""
    seen: list[dict[str, Any]] = []
    w = watch.Watch()
    for ev in w.stream(list_fn, *args, timeout_seconds=timeout, **kwargs):
        seen.append(ev)
        if until(ev):
            w.stop()
            return seen
    raise AssertionError(f"watch ended after {timeout}s without the awaited event; saw {seen!r}")


def deployment(name: str, replicas: int = 1, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
                },
            },
        },
    }


def configmap(
    name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None
) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


def unscheduled_pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A pod no node can take (impossible nodeSelector): it stays Pending and untouched by the kubelet."""
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "nodeSelector": {"kubesim.test/never": "true"},
            "containers": [{"name": "app", "image": "busybox:1.36"}],
        },
    }
