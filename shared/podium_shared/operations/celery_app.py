"""The Celery application every Podium process shares: the API sends with it, workers consume with it.

Messages only carry an operation id; Postgres holds the truth. Delivery is at-least-once (late ack,
re-delivery when a worker is lost), and the runner's guarded claim turns that into exactly-once execution.

A process calls `configure(settings)` once at start (the API's app factory, `run_worker`): it also makes them
the process's settings (`settings.use_settings`). Code that runs later (`dispatch`, `events`) asks
`settings.current_settings()` / `get_app()` instead of threading settings through every call."""

from __future__ import annotations

import threading

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]  # kombu re-exports it untyped

from podium_shared.settings import PodiumSettings, current_settings, use_settings

EXECUTE_TASK = "operations.execute"
# A batch of one bulk's released children, run together (runner.execute_many).
EXECUTE_BATCH_TASK = "operations.execute_batch"
SWEEP_TASK = "operations.sweep"
# Single commands and bulk children never share a queue, so a 5,000-item bulk cannot starve a one-off
# scale; the sweep has its own so recovery keeps running while both are busy.
QUEUE_COMMANDS = "commands"
QUEUE_BULK = "bulk"
QUEUE_MAINTENANCE = "maintenance"
ALL_QUEUES = (QUEUE_COMMANDS, QUEUE_BULK, QUEUE_MAINTENANCE)


class _Current:
    """This process's Celery app and the settings it was made with (a holder instead of module globals)."""

    lock = threading.Lock()
    settings: PodiumSettings | None = None
    app: Celery | None = None


def configure(settings: PodiumSettings) -> Celery:
    """Make `settings` this process's settings for the pipeline and return the matching Celery app."""
    with _Current.lock:
        current = _Current.app
        if current is not None and _Current.settings is not None:
            if _Current.settings.redis_url != settings.redis_url:
                current.close()
                current = None
            else:
                _apply_config(current, settings)
        _Current.settings = settings
        use_settings(settings)
        if current is None:
            current = _Current.app = make_app(settings)
        return current


def get_app() -> Celery:
    if _Current.app is not None:
        return _Current.app
    return configure(current_settings())


def visibility_timeout(settings: PodiumSettings) -> int:
    """Seconds the broker waits before re-delivering an unacknowledged message.

    Must exceed the longest task plus the longest retry countdown (Redis holds countdown messages
    unacknowledged until they are due), or a healthy long task is delivered twice. The lease and the sweep
    recover a dead worker much sooner, so a generous value costs nothing."""
    longest = settings.operation_backoff_max_seconds + 60 * settings.operation_lease_seconds
    return int(max(3600.0, 2 * longest))


def make_app(settings: PodiumSettings) -> Celery:
    app = Celery("podium", broker=settings.redis_url, set_as_current=False)
    _apply_config(app, settings)
    return app


def _apply_config(app: Celery, settings: PodiumSettings) -> None:
    app.conf.update(
        broker_url=settings.redis_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout(settings)},
        # A dead Redis must not hang the API's after-commit send for long: the sweep resends anyway.
        broker_connection_timeout=2.0,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,  # results live on the Operation row
        task_default_queue=QUEUE_COMMANDS,
        task_queues=[Queue(name) for name in ALL_QUEUES],  # type: ignore[no-untyped-call]
        task_create_missing_queues=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule={
            "operations-sweep": {
                "task": SWEEP_TASK,
                "schedule": settings.sweep_interval_seconds,
                # A sweep that waited longer than one interval is superseded by the next one.
                "options": {"queue": QUEUE_MAINTENANCE, "expires": settings.sweep_interval_seconds},
            }
        },
    )
