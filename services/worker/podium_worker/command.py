"""The worker's command line, defined once: `podium worker` (the CLI registers this function) and
`python -m podium_worker` (the container image, tests and benches: it skips loading the whole CLI) are
the same command with the same options. Imports only typer until it runs."""

# ruff: noqa: PLC0415 - run_worker loads Celery, SQLAlchemy and the Kubernetes client; --help should not.

from __future__ import annotations

from typing import Annotated

import typer


def worker(
    queues: Annotated[str, typer.Option(help="comma-separated Celery queues")] = "commands,bulk,maintenance",
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    beat: Annotated[bool, typer.Option(help="also run the periodic sweep (one per deployment)")] = False,
    pool: Annotated[str, typer.Option(help="Celery pool (threads: one rate limiter)")] = "threads",
    loglevel: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Run a Celery worker that executes operations."""
    from podium_worker.main import run_worker

    run_worker(
        queues=[q.strip() for q in queues.split(",") if q.strip()],
        concurrency=concurrency,
        beat=beat,
        pool=pool,
        loglevel=loglevel,
    )
