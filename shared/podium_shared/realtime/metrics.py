"""Prometheus metrics of the realtime path. Defined once at import (the default registry refuses
duplicates); the watcher serves them on its own port, the API on `/metrics`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WATCH_EVENTS = Counter(
    "podium_watcher_events_total", "Watch events written to Redis", ["cluster", "kind", "event"]
)
RELISTS = Counter(
    "podium_watcher_relists_total", "Full lists of a kind, by reason", ["cluster", "kind", "reason"]
)
WATCH_RESTARTS = Counter(
    "podium_watcher_watch_restarts_total",
    "Watches re-opened from the last resourceVersion",
    ["cluster", "kind", "reason"],
)
WATCH_ERRORS = Counter(
    "podium_watcher_errors_total", "Failed list/watch calls", ["cluster", "kind", "status"]
)
EVENT_LAG = Histogram(
    "podium_watcher_event_lag_seconds",
    "Time from reading a watch event to its commit in Redis",
    ["cluster"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge("podium_watcher_queue_depth", "Events read but not yet written to Redis", ["cluster"])
IS_LEADER = Gauge("podium_watcher_leader", "1 while this watcher streams the cluster", ["cluster"])
LAST_WRITE = Gauge(
    "podium_watcher_last_write_timestamp_seconds", "When the snapshot was last confirmed", ["cluster"]
)

WS_CLIENTS = Gauge("podium_ws_clients", "Open WebSocket connections in this API process")
WS_SENT = Counter("podium_ws_messages_sent_total", "Messages queued to WebSocket clients", ["type"])
WS_SLOW = Counter("podium_ws_slow_client_disconnects_total", "Clients dropped for falling behind")
FANOUT_LAG = Histogram(
    "podium_ws_fanout_lag_seconds",
    "From the stream id's timestamp to fan-out in this API process",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
FEED_RECONNECTS = Counter("podium_ws_feed_reconnects_total", "Pub/sub reader reconnects", ["cluster"])
