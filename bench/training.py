"""Telemetry figures: the log collector's stored lines per second and lag with many chatty training pods,
and `metrics/data` latency for one workload with a million points. Prints; asserts nothing.

    .venv/bin/python bench/training.py [--pods 50] [--rate 100] [--seconds 20] [--points 1000000]

Collector: kubesim in this process (controllers off) holds `--pods` pods owned by one PyTorchJob; a
producer appends `--rate` lines per second to each (mostly tqdm bars, one Trainer dict in ten, so the
metric parser works too); the watcher (with its collector) runs as a child process, as in production,
against embedded Postgres and Redis. Lag = wall clock minus the kube timestamp of the newest stored
line, sampled twice a second; drain = time from the producer's stop to the last line stored.

Metrics: `--points` points (5 metrics) for one workload are copied into Postgres; the API runs as a
child process; each query is timed over HTTP (JSON encoding included): a raw page of 1,000 points, a
Lens-style call for one metric over a window, and 500 time buckets over the whole run (one metric, and
all five). On a 2-core machine shared with other work, figures are upper bounds."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from benchlib.waiting import wait_until
from podium_kubesim.resources import RESOURCES
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from podium_shared.models.user import Role
from podium_shared.telemetry import store
from podium_shared.telemetry.store import Workload

CLUSTER = "bench"
NS = "train"
METRICS = ("loss", "grad_norm", "learning_rate", "epoch", "throughput")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def make_pods(ks: RunningKubeSim, n: int) -> None:
    job_uid = str(uuid.uuid4())
    owner = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": "bench", "uid": job_uid,
             "controller": True}  # fmt: skip

    def create() -> None:
        ks.sim.store.create(RESOURCES["namespaces"], None, {"metadata": {"name": NS}})
        for i in range(n):
            pod = {
                "metadata": {"name": f"bench-worker-{i}", "ownerReferences": [owner],
                             "labels": {"training.kubeflow.org/job-name": "bench"}},
                "spec": {"containers": [{"name": "pytorch", "image": "llamafactory"}]},
            }  # fmt: skip
            ks.sim.store.create(RESOURCES["pods"], NS, pod)

    ks.call(create)


def produce(ks: RunningKubeSim, pods: int, rate: float, seconds: float, produced: list[int]) -> None:
    """`rate` lines per second per pod, in ticks of 0.1 s."""
    per_tick = max(1, round(rate / 10))
    step = 0
    end = time.monotonic() + seconds
    next_tick = time.monotonic()
    while time.monotonic() < end:
        lines = []
        for _ in range(per_tick):
            step += 1
            if step % 10 == 0:
                record = {"loss": round(2.5 - step / 1e5, 4), "grad_norm": 1.1, "learning_rate": 5e-05}
                lines.append(str({**record, "epoch": round(step / 1e4, 2)}))
            else:
                lines.append(f"{step % 100:3d}%|██        | {step}/1000000 [00:10<01:30, 10.00it/s]")

        def append(lines: list[str] = lines) -> None:
            for i in range(pods):
                for line in lines:
                    ks.sim.logs.append(NS, f"bench-worker-{i}", "pytorch", line)

        ks.call(append)
        produced[0] += pods * len(lines)
        next_tick += 0.1
        time.sleep(max(0.0, next_tick - time.monotonic()))


def collector_run(args: argparse.Namespace, ks: RunningKubeSim, pg: EmbeddedPostgres, env: dict[str, str],
                  tmp: Path) -> None:  # fmt: skip
    make_pods(ks, args.pods)
    watcher = spawn([sys.executable, "-m", "podium_watcher"], env, tmp / "watcher.log")
    dsn = pg.url.replace("+psycopg", "")
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:

            def count() -> int:
                row = conn.execute("SELECT count(*) FROM log_lines").fetchone()
                return int(row[0]) if row else 0

            def streams() -> int:
                row = conn.execute("SELECT count(*) FROM log_streams").fetchone()
                return int(row[0]) if row else 0

            # Start-up: the watcher syncs, the collector leads and opens every follow (a first line each).
            def first_lines() -> None:
                for i in range(args.pods):
                    ks.sim.logs.append(NS, f"bench-worker-{i}", "pytorch", "start")

            ks.call(first_lines)
            wait_until(lambda: streams() >= args.pods, 120, "every pod followed", interval=0.2)
            produced = [count()]
            start_count = produced[0]
            lags: list[float] = []
            producer = threading.Thread(
                target=produce, args=(ks, args.pods, args.rate, args.seconds, produced)
            )
            t0 = time.monotonic()
            producer.start()
            while producer.is_alive():
                time.sleep(0.5)
                row = conn.execute("SELECT extract(epoch FROM now() - max(ts)) FROM log_lines").fetchone()
                if row and row[0] is not None:
                    lags.append(float(row[0]))
            producer.join()
            t_stop = time.monotonic()
            stored_at_stop = count() - start_count
            wait_until(lambda: count() >= produced[0], 300, "the collector to catch up", interval=0.1)
            drain = time.monotonic() - t_stop
            total = produced[0] - start_count
            dropped = conn.execute("SELECT coalesce(sum(dropped), 0) FROM log_streams").fetchone()
            points = conn.execute("SELECT count(*) FROM metric_points").fetchone()
        elapsed = t_stop - t0
        print(
            f"collector: {args.pods} pods x {args.rate:.0f} lines/s for {elapsed:.0f}s = {total} lines "
            f"({total / elapsed:.0f}/s); stored {stored_at_stop / elapsed:.0f} lines/s while producing, "
            f"{total / (elapsed + drain):.0f} lines/s overall; drain after stop {drain:.2f}s; "
            f"dropped {dropped[0] if dropped else '?'}; metric points {points[0] if points else '?'}"
        )
        print(
            f"collector lag (now - newest stored line): p50 {pct(lags, 0.5):.2f}s, "
            f"p99 {pct(lags, 0.99):.2f}s, max {max(lags, default=float('nan')):.2f}s"
        )
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


def metrics_run(args: argparse.Namespace, pg: EmbeddedPostgres, env: dict[str, str], token: str,
                tmp: Path) -> None:  # fmt: skip
    uid = str(uuid.uuid4())
    with unit_of_work(session_factory(pg.url)) as s:
        store.remember_workload(s, Workload(uid, CLUSTER, NS, "million", "PyTorchJob"))
    steps = args.points // len(METRICS)
    t_start = 1_700_000_000_000
    t0 = time.monotonic()
    with psycopg.connect(pg.url.replace("+psycopg", "")) as conn:
        columns = "workload_uid, pod, metric_name, value, ts, iteration, data_source"
        with conn.cursor().copy(f"COPY metric_points ({columns}) FROM STDIN") as copy:
            for step in range(1, steps + 1):
                ts = t_start + step * 1000
                for m, name in enumerate(METRICS):
                    copy.write_row((uid, "bench-master-0", name, 2.0 / (1 + step / 1e4) + m, ts, step, "log"))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE metric_points")  # as autovacuum would have by then: index-only scans
    print(f"metrics: {steps * len(METRICS)} points copied in {time.monotonic() - t0:.1f}s")
    port = free_port()
    code = ("import uvicorn; from podium_api.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')")  # fmt: skip
    api = spawn([sys.executable, "-c", code], env, tmp / "api.log")
    try:
        wait_for_port(port, 120, api)
        t_end = t_start + steps * 1000
        bucket = (t_end - t_start) // 500 + 1
        mid = t_start + steps * 500
        cases = {
            "raw page (limit=1000, all metrics)": {"limit": 1000},
            "raw page (limit=1000, loss, mid-run cursor)": {"metrics": "loss", "limit": 1000, "start": mid},
            "Lens call: loss over 10,000 steps": {
                "metrics": "loss",
                "start": mid,
                "end": mid + 10_000_000 - 1,
            },
            "500 buckets, loss (agg=avg)": {"metrics": "loss", "bucket": bucket, "agg": "avg"},
            "500 buckets, all 5 metrics (agg=last)": {"bucket": bucket, "agg": "last"},
            "available": None,
        }
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=300,
                          headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
            for label, params in cases.items():
                path = f"/workloads/{uid}/metrics/" + ("available" if params is None else "data")
                timings = []
                size = 0
                for _ in range(args.repeat):
                    t = time.monotonic()
                    r = http.get(path, params=params or {})
                    r.raise_for_status()
                    timings.append(time.monotonic() - t)
                    size = len(r.json().get("data", r.json().get("metrics", [])))
                print(f"metrics/{'available' if params is None else 'data'} {label}: {size} items, "
                      f"p50 {pct(timings, 0.5) * 1000:.0f} ms, p99 {pct(timings, 0.99) * 1000:.0f} ms "
                      f"(mean {statistics.mean(timings) * 1000:.0f} ms, n={len(timings)})")  # fmt: skip
    finally:
        api.terminate()
        api.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--rate", type=float, default=100.0, help="lines per second per pod")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=20, help="requests per metrics query")
    ap.add_argument("--skip-collector", action="store_true")
    ap.add_argument("--skip-metrics", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-training-"))
    pg = EmbeddedPostgres(tmp / "pg").start()
    rd = EmbeddedRedis(tmp / "redis").start()
    ks: RunningKubeSim = start_kubesim(controllers=False, history_size=50_000)
    try:
        kubeconfig = ks.write_kubeconfig(tmp / "kubeconfig")
        upgrade(pg.url)
        with unit_of_work(session_factory(pg.url)) as s:
            register_cluster(s, CLUSTER, kubeconfig_path=str(kubeconfig), context="kubesim")
            _, token = create_user(s, "bench", Role.admin)
        env = {
            **os.environ,
            "PODIUM_ENVIRONMENT": "development",
            "PODIUM_DATABASE_URL": pg.url,
            "PODIUM_REDIS_URL": rd.url,
            "PODIUM_WATCHER_METRICS_PORT": "0",
        }
        if not args.skip_collector:
            collector_run(args, ks, pg, env, tmp)
        if not args.skip_metrics:
            metrics_run(args, pg, env, token, tmp)
    finally:
        ks.stop()
        rd.stop()
        pg.stop()


if __name__ == "__main__":
    main()
