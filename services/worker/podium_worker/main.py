"""`run_worker`: what `podium worker` runs. Starts a Celery worker on the pipeline's queues, optionally with
beat embedded (the periodic sweep; run it in one worker per deployment, though several are safe: the sweep
locks rows with SKIP LOCKED), and keeps a heartbeat in Redis while the worker is up."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown
from podium_shared import domains
from podium_shared.db.session import make_engine
from podium_shared.kube.clients import warm_up
from podium_shared.operations.celery_app import ALL_QUEUES, EXECUTE_TASK, configure
from podium_shared.settings import PodiumSettings, get_settings
from sqlalchemy.orm import sessionmaker

from podium_worker.heartbeat import Heartbeat
from podium_worker.tasks import register_tasks

log = logging.getLogger(__name__)


def create_worker_app(settings: PodiumSettings, concurrency: int = 4) -> Celery:
    # Import every command kind (and the Kubernetes client behind them) now, so the first operation does
    # not pay seconds of imports inside its lease.
    domains.install()
    warm_up()
    app = configure(settings)
    if EXECUTE_TASK not in app.tasks:
        # Each task thread holds up to two connections at once (its own transaction and its lease
        # renewal); the default pool of 5 would make threads queue for connections, not for work.
        engine = make_engine(settings.database_url, pool_size=2 * concurrency + 2, max_overflow=concurrency)
        register_tasks(app, sessionmaker(engine, expire_on_commit=False))
    return app


def run_worker(
    settings: PodiumSettings | None = None,
    *,
    queues: Sequence[str] | None = None,
    concurrency: int = 4,
    beat: bool = False,
    pool: str = "threads",
    loglevel: str = "INFO",
    hostname: str | None = None,
) -> None:
    """Run until stopped (SIGTERM/SIGINT: warm shutdown, unfinished messages return to the queue).

    The default pool is threads: handlers spend their time waiting on the Kubernetes API, and one process
    with threads shares one rate limiter and one connection pool per cluster."""
    settings = settings or get_settings()
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_worker_app(settings, concurrency)
    wanted = list(queues or ALL_QUEUES)
    unknown = sorted(set(wanted) - set(ALL_QUEUES))
    if unknown:
        raise SystemExit(f"unknown queue(s) {unknown}; known: {list(ALL_QUEUES)}")

    heartbeat = Heartbeat(settings.redis_url, settings.worker_heartbeat_seconds)

    def _ready(**_: Any) -> None:
        heartbeat.start()

    def _shutdown(**_: Any) -> None:
        heartbeat.stop()

    worker_ready.connect(_ready, weak=False)
    worker_shutdown.connect(_shutdown, weak=False)
    argv = [
        "worker",
        f"--queues={','.join(wanted)}",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={loglevel.upper()}",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    if beat:
        # Beat keeps its schedule state in a file; a private temp dir keeps replicas from sharing one.
        schedule = Path(tempfile.mkdtemp(prefix="podium-beat-")) / "schedule"
        argv += ["--beat", f"--schedule={schedule}"]
    app.worker_main(argv)
