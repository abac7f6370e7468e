"""The Podium worker: Celery wiring around the shared operation pipeline (`podium_shared.operations`)."""

from podium_worker.main import run_worker

__all__ = ["run_worker"]
