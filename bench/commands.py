"""Command-pipeline figures on real parts (embedded Postgres and Redis, the API under uvicorn, a Celery
worker process, kubesim over HTTP). Prints numbers; asserts nothing.

    .venv/bin/python bench/commands.py [--accepts 5000] [--clients 8] [--items 1000] [--concurrency 32]
                                       [--kubectl-items 1000] [--api-workers 1,2]

1. bulk: one `bulk` of `--items` labels, from accept to the parent succeeded, with a single command sent
   every 100 ms beside it (their accept-to-done p50/p99); then `--limited-items` with the worker's client
   limited to 50 requests/s (the limit holds).
2. accept: `POST /api/v1/commands` (label) from `--clients` concurrent connections (one asyncio client
   process) with no worker running, against the API as a separate process with 1 and with 2 workers;
   accepted commands per second, p50/p99 latency (validate, authorise, insert operation + audit row,
   commit, send) and the CPU per command of the API, Postgres, Redis and the clients.
3. the old tool's way: one `kubectl label` process per object, sequentially, against the same kubesim;
   and the ratio to (1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from benchlib.procs import tree_cpu_s
from benchlib.waiting import wait_until
from kubernetes import client, config
from podium_kubesim.runner import start_kubesim
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from podium_shared.models.user import Role
from podium_shared.settings import PodiumSettings
from redis import Redis

NAMESPACE = "bench"
SINGLES = 600  # objects for the single commands sent while a bulk runs


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Api:
    """The API as its own process(es) (`podium api --workers N`), as deployed: the clients in this process
    must not share a GIL with the server they measure."""

    def __init__(self, settings: PodiumSettings, workers: int, log: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update(
            PODIUM_ENVIRONMENT="development",
            PODIUM_DATABASE_URL=settings.database_url,
            PODIUM_REDIS_URL=settings.redis_url,
            # The per-user rate limit would measure itself; the benchmark measures the command path.
            PODIUM_RATE_LIMIT_PER_SECOND="1000000",
            PODIUM_RATE_LIMIT_BURST="1000000",
        )
        args = [sys.executable, "-m", "podium_cli", "api", "--port", str(self.port), "--log-level", "warning"]
        if workers > 1:
            args += ["--workers", str(workers)]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)

    def __enter__(self) -> str:
        wait_for_port(self.port, 120, self.proc)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    def cpu_seconds(self) -> float:
        """User + system CPU of the API process and its workers so far."""
        return tree_cpu_s(self.proc.pid)


def start_worker(
    settings: PodiumSettings, log: Path, concurrency: int, loglevel: str
) -> subprocess.Popen[bytes]:
    """A worker process with the sweep, returned once it is consuming (its heartbeat is in Redis); its
    Kubernetes client is limited to `settings.kube_qps`."""
    redis = Redis.from_url(settings.redis_url)
    before = set(redis.keys("podium:heartbeat:worker:*"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(
        PODIUM_DATABASE_URL=settings.database_url,
        PODIUM_REDIS_URL=settings.redis_url,
        PODIUM_KUBE_QPS=str(settings.kube_qps),
        PODIUM_KUBE_BURST=str(settings.kube_burst),
        PODIUM_SWEEP_INTERVAL_SECONDS="2",
        PODIUM_BULK_BATCH_SIZE=str(settings.bulk_batch_size),
    )
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "podium_worker", "--beat", "--concurrency", str(concurrency),
             "--loglevel", loglevel],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def ready() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited early; see {log}")
        return bool(set(redis.keys("podium:heartbeat:worker:*")) - before)

    wait_until(ready, 120, "the worker's heartbeat")
    redis.close()
    return proc


def label_params(name: str, value: str) -> dict[str, Any]:
    return {"namespace": NAMESPACE, "kind": "configmap", "name": name, "labels": {"bench": value}}


def _accept_clients(  # noqa: PLR0917 - a process's target: its inputs, explicitly
    url: str,
    headers: dict[str, str],
    objects: int,
    accepts: int,
    clients: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """`bench_accept`'s clients: one asyncio loop, `clients` kept-alive connections, each sending its next
    command when the last is answered. Puts (latencies, elapsed, CPU seconds) on `results`, or the failure's
    text."""
    try:
        results.put(asyncio.run(_accept_rounds(url, headers, objects, accepts, clients, ready, go)))
    except BaseException as exc:  # the parent raises it
        results.put(f"accept clients failed: {exc!r}")


async def _accept_rounds(  # noqa: PLR0917 - as _accept_clients
    url: str, headers: dict[str, str], objects: int, accepts: int, clients: int, ready: Any, go: Any
) -> tuple[list[float], float, float]:
    host, _, port = url.removeprefix("http://").partition(":")
    fields = {"Host": f"{host}:{port}", **headers, "Content-Type": "application/json"}
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    requests = []
    for i in range(objects):
        body = json.dumps({"kind": "label", "cluster": "sim", "params": label_params(f"cm-{i}", "single")})
        request = f"POST /api/v1/commands HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}"
        requests.append(request.encode())
    connections = [await asyncio.open_connection(host, int(port)) for _ in range(clients)]
    latencies: list[float] = []

    async def client(k: int, count: int, measured: bool) -> None:
        reader, writer = connections[k]
        for n in range(count):
            start = time.perf_counter()
            writer.write(requests[(k + n * clients) % objects])
            status_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
            length = next(
                int(value) for name, _, value in (line.partition(b":") for line in rest.split(b"\r\n"))
                if name.strip().lower() == b"content-length"
            )  # fmt: skip
            text = await reader.readexactly(length)
            if measured:
                latencies.append(time.perf_counter() - start)
            if status_line.split()[1] != b"202":
                raise RuntimeError(f"accept failed: {status_line!r} {text[:500]!r}")

    # Warm-up, not measured: imports and connection pools of every API process.
    await asyncio.gather(*(client(k, 20, False) for k in range(clients)))
    ready.set()
    await asyncio.to_thread(go.wait, 120)
    cpu_before, start = time.process_time(), time.perf_counter()
    share = [accepts // clients + (1 if k < accepts % clients else 0) for k in range(clients)]
    await asyncio.gather(*(client(k, share[k], True) for k in range(clients)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_before
    for _, writer in connections:
        writer.close()
    return latencies, elapsed, cpu


def bench_accept(  # noqa: PLR0917 - one measurement, all inputs explicit
    url: str,
    headers: dict[str, str],
    api: Api,
    servers: dict[str, int],
    accepts: int,
    clients: int,
    objects: int,
    label: str,
) -> None:
    """Accepted commands/s and latency, with no worker running (the queue only fills). The clients run in a
    process of their own, on one asyncio loop: client threads in this process would share its GIL with
    each other and with kubesim's threads, and their waits for it would count as the API's latency; one
    loop costs the two shared cores least (~0.1 ms per request)."""
    context = multiprocessing.get_context("spawn")  # this process runs threads (kubesim): no fork
    ready, go, results = context.Event(), context.Event(), context.Queue()
    proc = context.Process(
        target=_accept_clients,
        args=(url, headers, objects, accepts, clients, ready, go, results),
        daemon=True,
    )
    proc.start()
    while not ready.wait(1):
        if not proc.is_alive() or not results.empty():
            raise SystemExit(results.get(timeout=5) if not results.empty() else "the accept clients exited")
    cpu_before = api.cpu_seconds()
    servers_before = {name: tree_cpu_s(pid) for name, pid in servers.items()}
    go.set()
    outcome = results.get(timeout=900)
    if isinstance(outcome, str):
        raise SystemExit(outcome)
    latencies, elapsed, own_s = outcome
    proc.join(30)
    cpu_ms = (api.cpu_seconds() - cpu_before) / accepts * 1000
    own_ms = own_s / accepts * 1000
    # The whole machine's bill per accept: on 2 cores, 500/s leaves 4 ms for all of it.
    others = ", ".join(
        f"{name} {(tree_cpu_s(pid) - servers_before[name]) / accepts * 1000:.2f} ms"
        for name, pid in servers.items()
    )
    print(f"accept ({label}): {accepts} label commands from {clients} clients in {elapsed:.2f}s")
    print(f"  accepted commands/s: {accepts / elapsed:.0f}; API CPU {cpu_ms:.1f} ms per accepted command "
          f"(the clients: {own_ms:.2f} ms; {others})")  # fmt: skip
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(f"  accept latency p50: {p50:.1f} ms, p99: {p99:.1f} ms; load average {os.getloadavg()[0]:.1f}")


def bench_bulk(http: httpx.Client, items: int, concurrency: int, singles_every: float = 0.1) -> float:
    """One bulk of `items` labels, accept to the parent finished. Meanwhile a single label command every
    `singles_every` seconds on other objects: their accept-to-done times (the database's `created_at` →
    `finished_at`) show whether the bulk starves one-off commands."""
    body = {
        "kind": "bulk",
        "cluster": "sim",
        "params": {
            "items": [{"kind": "label", "params": label_params(f"cm-{i}", "bulk")} for i in range(items)],
            "concurrency": concurrency,
        },
    }
    started = datetime.now(UTC)
    start = time.perf_counter()
    r = http.post("/api/v1/commands", json=body)
    if r.status_code != 202:
        raise SystemExit(f"bulk accept failed: {r.status_code} {r.text[:500]}")
    parent = r.json()["id"]
    accepted = time.perf_counter() - start
    singles: list[str] = []
    polls = 0

    def parent_done() -> bool:
        nonlocal polls
        if singles_every > 0 and len(singles) < SINGLES:
            single = {
                "kind": "label",
                "cluster": "sim",
                "params": label_params(f"single-{len(singles)}", "x"),
            }
            singles.append(http.post("/api/v1/commands", json=single).json()["id"])
        # The parent carries every item: read it twice a second, not at every tick (the end time below is
        # the database's, so the polling rate does not change the figure, only the CPU it steals).
        polls += 1
        if polls % 5:
            return False
        return http.get(f"/api/v1/operations/{parent}").json()["status"] in ("succeeded", "failed")

    wait_until(parent_done, 1800, "the bulk", interval=0.1)
    final = http.get(f"/api/v1/operations/{parent}").json()
    # Accept (this clock) to the parent's finish (the database's; same machine, same clock).
    elapsed = (datetime.fromisoformat(final["finished_at"]) - started).total_seconds()
    print(f"bulk: {items}-item label, concurrency {concurrency}: {final['status']} {final['progress']} "
          f"in {elapsed:.1f}s (accept {accepted * 1000:.0f} ms), {items / elapsed:.0f} items/s")  # fmt: skip
    for failure in (final.get("result") or {}).get("failures", [])[:5]:
        print(f"  failed item {failure['name']}: {failure['error']}")
    if singles:
        took = [_accept_to_done(http, op_id) for op_id in singles]
        print(f"  {len(took)} single commands sent during the bulk, accept to done: "
              f"p50 {percentile(took, 0.5) * 1000:.0f} ms, p99 {percentile(took, 0.99) * 1000:.0f} ms, "
              f"max {max(took) * 1000:.0f} ms")  # fmt: skip
    return elapsed


def _accept_to_done(http: httpx.Client, op_id: str) -> float:
    def finished() -> dict[str, Any] | None:
        op: dict[str, Any] = http.get(f"/api/v1/operations/{op_id}").json()
        return op if op["finished_at"] else None

    op = wait_until(finished, 120, f"single command {op_id}")
    done = datetime.fromisoformat(op["finished_at"]) - datetime.fromisoformat(op["created_at"])
    return done.total_seconds()


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


def create_objects(kubeconfig: Path, objects: int) -> None:
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    for i in range(objects):
        core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": f"cm-{i}"}})
    for i in range(SINGLES):
        core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": f"single-{i}"}})


def bench_bulk_rounds(
    settings: PodiumSettings, work: Path, auth: dict[str, str], args: argparse.Namespace
) -> float:
    """The bulk with single commands beside it, then a bulk under a 50 requests/s limit: the client-side
    rate limit towards Kubernetes holds (one PATCH per item, so at most ~50 items/s after the burst of
    10)."""
    with (
        Api(settings, 1, work / "api-bulk.log") as url,
        httpx.Client(base_url=url, headers=auth, timeout=30) as http,
    ):
        worker = start_worker(settings, work / "worker.log", args.worker_threads, args.worker_log_level)
        try:
            cpu_before = tree_cpu_s(worker.pid)
            bulk_time = bench_bulk(http, args.items, args.concurrency) if args.items else 0.0
            if args.items:
                per_item = (tree_cpu_s(worker.pid) - cpu_before) / args.items * 1000
                print(f"  worker CPU {per_item:.2f} ms per item (singles included); load average "
                      f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        finally:
            worker.terminate()
            worker.wait(30)
        if args.limited_items:
            limited = settings.model_copy(update={"kube_qps": 50.0, "kube_burst": 10})
            worker = start_worker(
                limited, work / "worker-50qps.log", args.worker_threads, args.worker_log_level
            )
            try:
                took = bench_bulk(http, args.limited_items, args.concurrency, singles_every=0)
            finally:
                worker.terminate()
                worker.wait(30)
            # A token bucket lets the burst through at once, then 50/s: the most it allows over N items.
            bound = args.limited_items / max((args.limited_items - 10) / 50.0, 1e-9)
            print(f"  rate limit 50 requests/s, burst 10: {args.limited_items / took:.1f} PATCH/s "
                  f"(the bucket allows at most {bound:.1f}/s over {args.limited_items} items)")  # fmt: skip
    return bulk_time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accepts", type=int, default=5000, help="accepts per round (fewer are noisy)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--worker-threads", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=PodiumSettings().bulk_batch_size,
                        help="bulk children per worker message")  # fmt: skip
    parser.add_argument("--kubectl-items", type=int, default=1000)
    parser.add_argument("--limited-items", type=int, default=200, help="items of the bulk at 50 requests/s")
    parser.add_argument("--worker-log-level", default="WARNING")
    parser.add_argument("--api-workers", default="1,2", help="API processes per accept round")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    postgres = EmbeddedPostgres(work / "postgres").start()
    redis = EmbeddedRedis(work / "redis").start()
    sim = start_kubesim(speed=20.0)
    try:
        upgrade(postgres.url)
        settings = PodiumSettings(
            environment="test",
            database_url=postgres.url,
            redis_url=redis.url,
            kube_qps=1000,
            kube_burst=1000,
            bulk_batch_size=args.batch_size,
        )
        kubeconfig = sim.write_kubeconfig(work / "kubeconfig")
        with unit_of_work(session_factory(settings.database_url)) as session:
            register_cluster(session, "sim", kubeconfig_path=str(kubeconfig), context="kubesim")
            _, token = create_user(session, "bench", Role.admin)
        auth = {"Authorization": f"Bearer {token}"}
        objects = max(args.items, args.kubectl_items, args.accepts)
        create_objects(kubeconfig, objects)

        # The bulks first, on an empty queue; then the accept rounds, with no worker (their commands stay
        # queued: draining thousands of them before a bulk measured the backlog, not the bulk).
        bulk_time = bench_bulk_rounds(settings, work, auth, args) if args.items else 0.0
        for workers in (int(x) for x in args.api_workers.split(",") if x):
            api = Api(settings, workers, work / f"api-{workers}.log")
            servers = {"Postgres": postgres.pid, "Redis": redis.pid}
            with api as url:
                bench_accept(
                    url,
                    auth,
                    api,
                    {name: pid for name, pid in servers.items() if pid is not None},
                    args.accepts,
                    args.clients,
                    objects,
                    f"{workers} API process(es)",
                )
        if args.kubectl_items and args.items:
            kubectl_time = bench_kubectl(kubeconfig, args.kubectl_items)
            ratio = (kubectl_time / args.kubectl_items) / (bulk_time / args.items)
            print(f"ratio: per item, the bulk is {ratio:.1f}x faster than one kubectl process per item")
    finally:
        sim.stop()
        redis.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
