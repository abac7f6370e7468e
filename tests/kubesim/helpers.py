"""Builders and waits shared by the kubesim tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import watch
from support.waiting import wait_until

# One polling loop for the whole suite; kubesim's tests know it by this name.
wait_for = wait_until


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
