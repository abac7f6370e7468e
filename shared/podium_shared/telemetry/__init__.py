"""Kept logs and training metrics: the log collector (run by the watcher), its store, the metric parser,
and the reads behind `/trainingjobs/.../logs`, `/workloads/{uid}/metrics/*` and the `logs` WebSocket topic.
See docs/telemetry.md."""
