"""The watcher service: Kubernetes watches → Redis snapshot, event stream and pub/sub."""

from podium_watcher.main import run_watcher

__all__ = ["run_watcher"]
