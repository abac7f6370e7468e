"""`python -m podium_worker [--beat] [--queues a,b] [--concurrency N]`: `podium worker` without the CLI
package (podium_worker.command defines both)."""

from __future__ import annotations

import typer

from podium_worker.command import worker

if __name__ == "__main__":
    typer.run(worker)
