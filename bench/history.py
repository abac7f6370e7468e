"""Training-history figures on real parts: an embedded MLflow tracking server (SQLite), embedded Postgres
and Redis, the API under uvicorn. Prints numbers; asserts nothing.

    .venv/bin/python bench/history.py [--runs 5000] [--experiments 20] [--samples 50] [--limit 50]

Creates `--runs` runs in `--experiments` experiments (tags like a training job's, a few metrics each),
then measures, in the same process and alternating so both see the same machine:
1. first page: `GET /api/v1/training/runs?limit=N` (across all experiments) through Podium, beside the
   same `search_runs` straight to MLflow with MlflowClient;
2. filtered page: `status=FINISHED&tag.model=<one model>`, both ways;
and prints p50/p99 of each and Podium's overhead as a ratio (Podium / MLflow).
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.auth.service import create_user
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedMlflow, EmbeddedPostgres, EmbeddedRedis, free_port
from podium_shared.models.user import Role

MODELS = ["Qwen-Qwen3-0.6B", "Qwen-Qwen2.5-7B", "meta-llama-Llama-3.1-8B", "mistral-7B"]
INSTANCES = ["ml.g5.12xlarge", "ml.p4d.24xlarge", "ml.p3.16xlarge"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def populate(store: Any, runs: int, experiments: int) -> list[str]:
    """Writes straight into the server's SQLite store (the same tables `mlflow server` reads): thousands of
    runs over REST would take longer than the measurement itself on a small machine."""
    rng = random.Random(7)
    ids = [store.create_experiment(f"bench-{i:02d}-{time.time_ns()}") for i in range(experiments)]
    now = int(time.time() * 1000)
    started = time.monotonic()
    for n in range(runs):
        tags = [
            RunTag("model", rng.choice(MODELS)), RunTag("dataset", "identity"),
            RunTag("instance_type", rng.choice(INSTANCES)),
            RunTag("replica_count", str(rng.choice([1, 2, 4]))),
            RunTag("batch_size", "4"), RunTag("cutoff_len", "2048"), RunTag("podium.job", f"job-{n}"),
        ]  # fmt: skip
        run = store.create_run(ids[n % experiments], "bench", now + n, tags, f"run-{n}")
        store.log_batch(
            run.info.run_id,
            metrics=[
                Metric("loss", rng.uniform(0.8, 2.6), now, 10),
                Metric("train_samples_per_second", rng.uniform(0.3, 3.0), now, 10),
                Metric("train_steps_per_second", rng.uniform(0.05, 0.5), now, 10),
                Metric("epoch", 3.0, now, 10),
            ],
            params=[Param("learning_rate", "5e-05")],
            tags=[],
        )
        status = RunStatus.FINISHED if n % 7 else RunStatus.FAILED
        store.update_run_info(run.info.run_id, status, now + n + 60_000, None)
        if n and n % 1000 == 0:
            print(f"  {n} runs created ({n / (time.monotonic() - started):.0f}/s)", flush=True)
    return ids


def timed(fn: Callable[[], object], samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(name: str, podium: list[float], direct: list[float]) -> None:
    p50, p99 = percentile(podium, 0.5), percentile(podium, 0.99)
    d50, d99 = percentile(direct, 0.5), percentile(direct, 0.99)
    print(
        f"{name:<16} Podium p50 {p50:7.1f} ms  p99 {p99:7.1f} ms | MLflow direct p50 {d50:7.1f} ms  "
        f"p99 {d99:7.1f} ms | ratio p50 {p50 / d50:4.2f}x  p99 {p99 / d99:4.2f}x"
    )


def measure(port: int, token: str, direct: MlflowClient, ids: list[str], args: argparse.Namespace) -> None:
    model = MODELS[0]
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )  # fmt: skip

    def podium_first() -> None:
        http.get("/training/runs", params={"limit": args.limit}).raise_for_status()

    def direct_first() -> None:
        direct.search_runs(ids, max_results=args.limit, order_by=["attributes.start_time DESC"])

    def podium_filtered() -> None:
        params = {"limit": args.limit, "status": "FINISHED", "tag.model": model}
        http.get("/training/runs", params=params).raise_for_status()

    def direct_filtered() -> None:
        direct.search_runs(
            ids, filter_string=f"attributes.status = 'FINISHED' AND tags.`model` = '{model}'",
            max_results=args.limit, order_by=["attributes.start_time DESC"],
        )  # fmt: skip

    for fn in (podium_first, direct_first, podium_filtered, direct_filtered):
        fn()  # warm both paths (imports, connections, caches)
    results: dict[str, list[float]] = {k: [] for k in ("pf", "df", "pq", "dq")}
    for _ in range(args.samples):  # alternate so both paths share the machine's moments
        results["pf"] += timed(podium_first, 1)
        results["df"] += timed(direct_first, 1)
        results["pq"] += timed(podium_filtered, 1)
        results["dq"] += timed(direct_filtered, 1)
    print(f"\n{args.runs} runs, {args.experiments} experiments, page size {args.limit}, "
          f"{args.samples} samples each")  # fmt: skip
    report("first page", results["pf"], results["df"])
    report("filtered page", results["pq"], results["dq"])
    http.close()


def main() -> None:
    # With sagemaker-mlflow installed (dev extra), its header provider warns on every non-ARN request.
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="podium-bench-history-") as tmp:
        root = Path(tmp)
        print("starting mlflow, postgres, redis …", flush=True)
        mlflow_server = EmbeddedMlflow(root / "mlflow").start()
        postgres = EmbeddedPostgres(root / "pg").start()
        redis = EmbeddedRedis(root / "redis").start()
        server: uvicorn.Server | None = None
        try:
            upgrade(postgres.url)
            settings = ApiSettings(
                environment="test", database_url=postgres.url, redis_url=redis.url,
                mlflow_tracking_uri=mlflow_server.url, rate_limit_per_second=1e6, rate_limit_burst=1_000_000,
            )  # fmt: skip
            with unit_of_work(session_factory(postgres.url)) as session:
                _user, token = create_user(session, "bench", Role.viewer)
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
            )
            threading.Thread(target=server.run, daemon=True).start()
            while not server.started:
                time.sleep(0.05)

            direct = MlflowClient(tracking_uri=mlflow_server.url)
            print(f"creating {args.runs} runs in {args.experiments} experiments …", flush=True)
            store = SqlAlchemyStore(
                f"sqlite:///{root / 'mlflow' / 'mlflow.db'}", str(root / "mlflow" / "artifacts")
            )
            ids = populate(store, args.runs, args.experiments)
            measure(port, token, direct, ids, args)
        finally:
            if server is not None:
                server.should_exit = True
            redis.stop()
            postgres.stop()
            mlflow_server.stop()


if __name__ == "__main__":
    main()
