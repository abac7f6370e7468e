"""Command-pipeline figures on real parts (embedded Postgres and Redis, the API under uvicorn, a Celery
worker process, kubesim over HTTP). Prints numbers; asserts nothing.

    .venv/bin/python bench/commands.py [--accepts 500] [--clients 8] [--items 1000] [--concurrency 32]
                                       [--kubectl-items 1000]

1. accept: `POST /api/v1/commands` (label) from `--clients` threads with no worker running; accepted
   commands per second and p50/p99 latency (validate, authorise, insert operation + audit row, commit, send).
2. bulk: one `bulk` of `--items` labels, from accept to the parent succeeded.
3. the old tool's way: one `kubectl label` process per object, sequentially, against the same kubesim;
   and the ratio to (2).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from benchlib.waiting import wait_until
from kubernetes import client, config
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_kubesim.runner import start_kubesim
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from podium_shared.models.user import Role
from podium_shared.settings import PodiumSettings

NAMESPACE = "bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Api:
    def __init__(self, settings: PodiumSettings) -> None:
        self.port = free_port()
        # The per-user rate limit would measure itself; the benchmark measures the command path.
        api_settings = ApiSettings(
            **(settings.model_dump() | {"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000})
        )
        config_ = uvicorn.Config(
            create_app(api_settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config_)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_for_port(self.port, 30)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_worker(
    settings: PodiumSettings, log: Path, concurrency: int, loglevel: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(
        PODIUM_DATABASE_URL=settings.database_url,
        PODIUM_REDIS_URL=settings.redis_url,
        PODIUM_KUBE_QPS=str(settings.kube_qps),
        PODIUM_KUBE_BURST=str(settings.kube_burst),
        PODIUM_SWEEP_INTERVAL_SECONDS="2",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "podium_worker", "--beat", "--concurrency", str(concurrency),
             "--loglevel", loglevel],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def label_params(name: str, value: str) -> dict[str, Any]:
    return {"namespace": NAMESPACE, "kind": "configmap", "name": name, "labels": {"bench": value}}


def bench_accept(http: httpx.Client, accepts: int, clients: int, objects: int) -> None:
    """Accepted commands/s and latency, with no worker running (the queue only fills)."""
    latencies: list[float] = []

    def accept(i: int) -> None:
        body = {"kind": "label", "cluster": "sim", "params": label_params(f"cm-{i % objects}", "single")}
        start = time.perf_counter()
        r = http.post("/api/v1/commands", json=body)
        latencies.append(time.perf_counter() - start)
        if r.status_code != 202:
            raise SystemExit(f"accept failed: {r.status_code} {r.text}")

    for i in range(20):  # warm-up: imports, connection pools
        accept(i)
    latencies.clear()
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(accept, range(accepts)))
    elapsed = time.perf_counter() - start
    print(f"accept: {accepts} label commands from {clients} clients in {elapsed:.2f}s")
    print(f"  accepted commands/s: {accepts / elapsed:.0f}")
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(f"  accept latency p50: {p50:.1f} ms, p99: {p99:.1f} ms")


def drain(http: httpx.Client, count: int) -> None:
    start = time.perf_counter()

    def left(status: str) -> int:
        r = http.get("/api/v1/operations", params={"status": status, "limit": 1})
        return len(r.json().get("items", []))

    wait_until(lambda: left("queued") == 0 and left("running") == 0, 600, "the single commands")
    took = time.perf_counter() - start
    print(f"  (drained {count} queued single commands in {took:.1f}s, worker start included)")


def bench_bulk(http: httpx.Client, items: int, concurrency: int) -> float:
    body = {
        "kind": "bulk",
        "cluster": "sim",
        "params": {
            "items": [{"kind": "label", "params": label_params(f"cm-{i}", "bulk")} for i in range(items)],
            "concurrency": concurrency,
        },
    }
    start = time.perf_counter()
    r = http.post("/api/v1/commands", json=body)
    if r.status_code != 202:
        raise SystemExit(f"bulk accept failed: {r.status_code} {r.text[:500]}")
    parent = r.json()["id"]
    accepted = time.perf_counter() - start

    def parent_done() -> bool:
        return http.get(f"/api/v1/operations/{parent}").json()["status"] in ("succeeded", "failed")

    wait_until(parent_done, 1800, "the bulk")
    elapsed = time.perf_counter() - start
    final = http.get(f"/api/v1/operations/{parent}").json()
    print(f"bulk: {items}-item label, concurrency {concurrency}: {final['status']} {final['progress']} "
          f"in {elapsed:.1f}s (accept {accepted * 1000:.0f} ms), {items / elapsed:.0f} items/s")  # fmt: skip
    for failure in (final.get("result") or {}).get("failures", [])[:5]:
        print(f"  failed item {failure['name']}: {failure['error']}")
    return elapsed


def bench_kubectl(kubeconfig: Path, n: int) -> float:
    """The old tool's way: one kubectl process per object, sequentially."""
    start = time.perf_counter()
    for i in range(n):
        subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "-n", NAMESPACE, "label", "configmap",
             f"cm-{i}", "oldtool=yes", "--overwrite"],
            check=True, capture_output=True,
        )  # fmt: skip
    elapsed = time.perf_counter() - start
    each = elapsed / n * 1000
    print(f"kubectl: {n} sequential `kubectl label` processes in {elapsed:.1f}s ({each:.0f} ms each)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accepts", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--worker-threads", type=int, default=32)
    parser.add_argument("--kubectl-items", type=int, default=1000)
    parser.add_argument("--worker-log-level", default="WARNING")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    postgres = EmbeddedPostgres(work / "postgres").start()
    redis = EmbeddedRedis(work / "redis").start()
    sim = start_kubesim(speed=20.0)
    worker: subprocess.Popen[bytes] | None = None
    try:
        upgrade(postgres.url)
        settings = PodiumSettings(
            environment="test", database_url=postgres.url, redis_url=redis.url, kube_qps=1000, kube_burst=1000
        )
        kubeconfig = sim.write_kubeconfig(work / "kubeconfig")
        with unit_of_work(session_factory(settings.database_url)) as session:
            register_cluster(session, "sim", kubeconfig_path=str(kubeconfig), context="kubesim")
            _, token = create_user(session, "bench", Role.admin)
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        objects = max(args.items, args.kubectl_items, args.accepts)
        for i in range(objects):
            core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": f"cm-{i}"}})

        with (
            Api(settings) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        ):
            bench_accept(http, args.accepts, args.clients, objects)
            worker = start_worker(settings, work / "worker.log", args.worker_threads, args.worker_log_level)
            drain(http, args.accepts + 20)
            bulk_time = bench_bulk(http, args.items, args.concurrency)
        kubectl_time = bench_kubectl(kubeconfig, args.kubectl_items)
        ratio = (kubectl_time / args.kubectl_items) / (bulk_time / args.items)
        print(f"ratio: per item, the bulk is {ratio:.1f}x faster than one kubectl process per item")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        sim.stop()
        redis.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
