"""Redis key names of the realtime state, in one place so the watcher, the API and the tests agree."""

from __future__ import annotations


def state_prefix(cluster: str) -> str:
    """Every snapshot key of a cluster starts with this (state, summary and meta keys below)."""
    return f"podium:state:{cluster}:"


def state_key(cluster: str, kind: str) -> str:
    """Hash of the current objects of one kind: field `namespace/name` (or `name`), value the object JSON."""
    return f"podium:state:{cluster}:{kind}"


def summary_key(cluster: str, kind: str) -> str:
    """Hash of compact per-object summaries (pods: node, phase, GPUs), written with the object itself."""
    return f"podium:state:{cluster}:{kind}:summary"


def gpu_key(cluster: str) -> str:
    """Hash of the GPU use the watcher keeps current with every pod change: `req:<node>` (GPUs requested by
    the pods bound to the node that still hold them), `pods:<node>` (how many), `unscheduled` (GPUs of
    pods no node has taken). Valid only while the meta hash says `aggregates` = AGGREGATES_VERSION."""
    return f"podium:state:{cluster}:gpu"


# Bumped whenever the aggregates' meaning changes: a new watcher term rebuilds them when the version differs.
AGGREGATES_VERSION = "1"


def meta_key(cluster: str) -> str:
    """Hash of snapshot metadata: `fresh_at` (epoch seconds the watcher last confirmed the state) and
    `synced:<kind>` (epoch seconds of the kind's last full list), `aggregates` (the version of the GPU
    aggregates and node summaries, once a watcher term has built them)."""
    return f"podium:state:{cluster}:meta"


def stream_key(cluster: str) -> str:
    return f"podium:events:{cluster}"


def channel(cluster: str) -> str:
    return f"podium:live:{cluster}"


def leader_key(cluster: str) -> str:
    return f"podium:leader:{cluster}"


def fence_key(cluster: str) -> str:
    return f"podium:leader:{cluster}:fence"


def heartbeat_prefix(component: str) -> str:
    """Every process's liveness key starts so (`worker`, `watcher`); `/readyz` and `podium` scan for it."""
    return f"podium:heartbeat:{component}:"


def heartbeat_key(watcher_id: str) -> str:
    return heartbeat_prefix("watcher") + watcher_id
