"""`python -m podium_worker [--beat] [--queues a,b] [--concurrency N]`: the worker without the CLI package
(the container image's entry point and the tests' subprocess)."""

from __future__ import annotations

import argparse

from podium_worker.main import run_worker


def main() -> None:
    parser = argparse.ArgumentParser(prog="podium_worker")
    parser.add_argument("--queues", default="commands,bulk,maintenance")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--beat", action="store_true")
    parser.add_argument("--pool", default="threads")
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args()
    run_worker(
        queues=[q for q in args.queues.split(",") if q],
        concurrency=args.concurrency,
        beat=args.beat,
        pool=args.pool,
        loglevel=args.loglevel,
    )


if __name__ == "__main__":
    main()
