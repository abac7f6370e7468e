"""Drain: wait, bounded, until a pod that no Service selects any more has no request in flight.

The gauge is read from the engine's own Prometheus endpoint through the API server's pod proxy (the same
credentials as every other call; no network path from the worker to pods is assumed). Engines without such
an endpoint (Ollama) are not waited for: taking the pod out of the Service is all that can be done."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from podium_shared.errors import PodiumError, TransientError
from podium_shared.kube.clients import ClusterClients
from podium_shared.serving import labels as L
from podium_shared.serving.engines import EngineName, engine_spec
from podium_shared.serving.kube_ops import get_text, pod_proxy_path

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class DrainResult:
    pod: str
    waited_seconds: float
    in_flight: int | None  # last value read; None when the engine exposes no gauge
    timed_out: bool
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "waited_seconds": round(self.waited_seconds, 3),
            "in_flight": self.in_flight,
            "timed_out": self.timed_out,
            "note": self.note,
        }


def gauge_value(text: str, name: str) -> float | None:
    """Sum of every sample of `name` in Prometheus exposition text; None when absent."""
    total: float | None = None
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        rest = line[len(name) :]
        if rest[:1] not in ("{", " "):
            continue  # a longer metric name sharing the prefix
        sample = rest.split("}", 1)[1] if "}" in rest else rest
        try:
            value = float(sample.split()[0])
        except (ValueError, IndexError):
            continue
        total = (total or 0.0) + value
    return total


def _port(pod: dict[str, Any], engine: EngineName) -> int:
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("containerPort"):
                return int(p["containerPort"])
    return engine_spec(engine).port


def drain_pod(kube: ClusterClients, pod: dict[str, Any], *, timeout: float) -> DrainResult:
    meta = pod.get("metadata") or {}
    name = str(meta.get("name"))
    namespace = str(meta.get("namespace"))
    engine_label = (meta.get("labels") or {}).get(L.ENGINE)
    try:
        engine = EngineName(str(engine_label))
    except ValueError:
        return DrainResult(name, 0.0, None, False, "unknown engine: not waited for")
    gauge = engine_spec(engine).running_gauge
    if gauge is None:
        return DrainResult(name, 0.0, None, False, f"{engine.value} exposes no in-flight gauge")
    path = pod_proxy_path(namespace, name, _port(pod, engine), "/metrics")
    started = time.monotonic()
    deadline = started + timeout
    last: int | None = None
    while True:
        elapsed = time.monotonic() - started
        try:
            value = gauge_value(get_text(kube, path), gauge)
        except TransientError:
            value = -1.0  # unknown this round (an overloaded API server); ask again until the deadline
        except PodiumError as exc:
            # A pod that cannot answer (gone, no such port) has nothing to drain that we can see.
            return DrainResult(name, elapsed, last, False, f"metrics unavailable: {exc.code}")
        if value is None:
            return DrainResult(name, elapsed, None, False, f"no {gauge} gauge exported")
        if value >= 0:
            last = int(value)
            if last <= 0:
                return DrainResult(name, elapsed, 0, False)
        if time.monotonic() >= deadline:
            return DrainResult(name, elapsed, last, True, "drain timeout reached")
        # Polling the engine's own gauge is the only signal it offers; the deadline bounds the wait.
        time.sleep(POLL_SECONDS)
