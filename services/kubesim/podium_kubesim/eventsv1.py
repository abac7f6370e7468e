"""events.k8s.io/v1 view of core/v1 Events: one stored object, two wire shapes (like the real server)."""

from __future__ import annotations

from typing import Any

from podium_kubesim.objutil import deep_copy

_RENAMES = (  # (core field, events.k8s.io field)
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
)


def to_v1(core: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": core.get("metadata", {}),
    }
    for src, dst in _RENAMES:
        if src in core:
            out[dst] = core[src]
    for same in (
        "reason",
        "type",
        "action",
        "reportingController",
        "reportingInstance",
        "eventTime",
        "series",
    ):
        if same in core:
            out[same] = core[same]
    if "reportingComponent" in core:
        out["reportingController"] = core["reportingComponent"]
    if not out.get("eventTime"):
        # Older core events have no eventTime; the v1 shape requires one, so derive it as the server does.
        ts = core.get("firstTimestamp") or core.get("metadata", {}).get("creationTimestamp")
        out["eventTime"] = ts.replace("Z", ".000000Z") if isinstance(ts, str) else None
    return out


def from_v1(ev: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": deep_copy(ev.get("metadata", {}))}
    for src, dst in _RENAMES:
        if dst in ev:
            out[src] = deep_copy(ev[dst])
    for same in ("reason", "type", "action", "reportingInstance", "eventTime", "series"):
        if same in ev:
            out[same] = deep_copy(ev[same])
    if "reportingController" in ev:
        out["reportingComponent"] = ev["reportingController"]
    return out
