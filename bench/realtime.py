"""Realtime figures: event-to-client latency through kubesim → watcher → Redis → API → WebSocket,
sustained events per second, the watcher's memory with many pods, and cluster status from the snapshot
against the old tool's `kubectl get nodes` + one `kubectl describe node` per node. Prints; asserts nothing.

    .venv/bin/python bench/realtime.py [--nodes 1000] [--pods 20000] [--clients 100,1000] [--rate 20]
        [--api-workers 1,2] [--status-calls 200]

Every part is real and separate: kubesim in this process (controllers off, populated directly), the
watcher and the API as child processes (`python -m podium_watcher`, uvicorn), embedded Postgres and
Redis, and N WebSocket clients in a process of their own (benchlib/wsclients.py, uvloop). On a 2-core
machine the clients, the API and the watcher compete for the same cores, so the latency figures are an
upper bound; the clients' CPU per message is printed beside the API's."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from benchlib.procs import spawn, stop_all, tree_cpu_s, tree_pids
from benchlib.waiting import wait_until
from kubernetes import client, config
from podium_kubesim.resources import RESOURCES
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.auth.service import create_user
from podium_shared.cluster_state.status import status_from_summaries
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from podium_shared.models.user import Role
from podium_shared.realtime.keys import state_key, stream_key, summary_key
from podium_shared.realtime.state import decode_hash
from podium_shared.settings import PodiumSettings, use_settings
from redis import Redis

sys.path.insert(0, str(Path(__file__).parent))
from kubesim import populate

CLUSTER = "bench"
LAT_NS = "lat"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def latency_run(  # noqa: PLR0917 - one measurement, all inputs explicit
    api_url: str,
    token: str,
    n: int,
    rate: float,
    seconds: float,
    kube: client.ApiClient,
    redis: Redis[bytes],
    api_pid: int,
) -> dict[str, float]:
    """N clients (a process of their own: benchlib/wsclients.py) subscribed from the current stream
    position to pods in one namespace; one pod is patched `rate` times per second with its send time;
    each client records now - send time."""
    since = (redis.xrevrange(stream_key(CLUSTER), count=1) or [(b"0-0", {})])[0][0].decode()
    url = api_url.replace("http", "ws", 1) + "/api/v1/ws"
    script = Path(__file__).parent / "benchlib" / "wsclients.py"
    clients = subprocess.Popen(
        [sys.executable, str(script), url, token, str(n), CLUSTER, LAT_NS, since],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert clients.stdin is not None
    assert clients.stdout is not None
    rss_before = tree_rss_mib(api_pid)
    try:
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("the WebSocket clients did not all subscribe")
        rss_delta = tree_rss_mib(api_pid) - rss_before
        core = client.CoreV1Api(kube)
        cpu_before = tree_cpu_s(api_pid)
        clients_cpu_before = tree_cpu_s(clients.pid)
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            body = {"metadata": {"annotations": {"bench/t0": repr(time.time())}}}
            core.patch_namespaced_pod("lat-pod", LAT_NS, body)
            sent += 1
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
        clients.stdin.write(f"{sent}\n")
        clients.stdin.flush()
        result = json.loads(clients.stdout.readline())
        elapsed = time.monotonic() - start
        api_cpu = tree_cpu_s(api_pid) - cpu_before
        clients_cpu = tree_cpu_s(clients.pid) - clients_cpu_before
    finally:
        if clients.poll() is None:
            try:
                clients.wait(60)  # it exits after printing its result
            except subprocess.TimeoutExpired:
                clients.kill()
                clients.wait(10)
    if result.get("protocol_errors"):
        raise RuntimeError(f"the clients saw protocol errors: {result['protocol_errors']}")
    latencies: list[float] = result["latencies"]
    received = int(result["received"])
    return {
        "closed_early": result["closed_early"],
        "sent": sent,
        "expected": sent * n,
        "received": received,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "delivered_per_s": received / max(1e-9, elapsed),
        "rss_delta": rss_delta,
        "cpu_per_msg_us": api_cpu / max(1, received) * 1e6,
        "clients_cpu_per_msg_us": clients_cpu / max(1, received) * 1e6,
    }


def tree_rss_mib(pid: int) -> float:
    total = 0.0
    for p in tree_pids(pid):
        try:
            total += rss_mib(p)
        except OSError:
            continue
    return total


def status_figures(  # noqa: PLR0917 - one measurement, all inputs explicit
    api_url: str, token: str, redis: Redis[bytes], args: argparse.Namespace, kubeconfig: Path, api_pid: int
) -> None:
    """The status through the API (p50/p99), the pre-aggregate computation from every pod's summary in
    this process (the baseline, same run), and the old tool's kubectl loop."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=120) as http:
        http.get(f"/api/v1/clusters/{CLUSTER}/status").raise_for_status()  # warm: imports, connections
        cpu_before = tree_cpu_s(api_pid)
        timings, totals = status_calls(http, args.status_calls)
        api_cpu_ms = (tree_cpu_s(api_pid) - cpu_before) / args.status_calls * 1000
        # The same reads while the status keeps changing: 20 GPU pods a second land on nodes (each moves
        # the snapshot's status version, so a reader cannot answer from the document it built last).
        stop = threading.Event()
        churn = threading.Thread(target=create_gpu_pods, args=(kubeconfig, args.nodes, stop), daemon=True)
        churn.start()
        cpu_before = tree_cpu_s(api_pid)
        churn_timings, _ = status_calls(http, args.status_calls)
        churn_cpu_ms = (tree_cpu_s(api_pid) - cpu_before) / args.status_calls * 1000
        stop.set()
        churn.join(10)
    baseline = []
    for _ in range(10):
        t0 = time.monotonic()
        nodes, pods = redis.hgetall(state_key(CLUSTER, "nodes")), redis.hgetall(summary_key(CLUSTER, "pods"))
        status_from_summaries(CLUSTER, decode_hash(nodes), decode_hash(pods), None)
        baseline.append(time.monotonic() - t0)
    names = [f"hyperpod-i-{i:017x}" for i in range(min(args.describe_nodes, args.nodes))]
    old_s = kubectl_old_way(kubeconfig, names)
    per_node = old_s / max(1, len(names))
    print(
        f"cluster status through the API ({totals['nodes']} nodes, {args.pods} pods, "
        f"{args.status_calls} calls): "
        f"p50 {pct(timings, 0.5) * 1000:.1f} ms, p99 {pct(timings, 0.99) * 1000:.1f} ms, "
        f"API CPU {api_cpu_ms:.1f} ms per read; "
        f"computed from every pod's summary (the way before the aggregates, no HTTP): "
        f"median {statistics.median(baseline) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  the same while 20 GPU pods/s are scheduled: p50 {pct(churn_timings, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(churn_timings, 0.99) * 1000:.1f} ms, API CPU {churn_cpu_ms:.1f} ms per read"
    )
    print(
        f"old way (kubectl get nodes + describe per node): {old_s:.1f}s for {len(names)} nodes = "
        f"{per_node:.2f}s/node → ~{per_node * args.nodes:.0f}s for {args.nodes} nodes",
        flush=True,
    )


def status_calls(http: httpx.Client, calls: int) -> tuple[list[float], dict[str, Any]]:
    timings = []
    totals: dict[str, Any] = {}
    for _ in range(calls):
        t0 = time.monotonic()
        r = http.get(f"/api/v1/clusters/{CLUSTER}/status")
        r.raise_for_status()
        timings.append(time.monotonic() - t0)
        totals = r.json()["totals"]
    return timings, totals


def create_gpu_pods(kubeconfig: Path, nodes: int, stop: threading.Event) -> None:
    """One pod asking for a GPU on a node every 50 ms until `stop`."""
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    i = 0
    while not stop.wait(0.05):
        core.create_namespaced_pod(LAT_NS, {
            "metadata": {"name": f"gpu-churn-{i}"},
            "spec": {"nodeName": f"hyperpod-i-{i % nodes:017x}",
                     "containers": [{"name": "c", "image": "x",
                                     "resources": {"requests": {"nvidia.com/gpu": "1"}}}]},
        })  # fmt: skip
        i += 1


def kubectl_old_way(kubeconfig: Path, nodes: list[str]) -> float:
    """Seconds for `kubectl get nodes` plus one `kubectl describe node` per node (the old tool's loop)."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    start = time.monotonic()
    subprocess.run(["kubectl", "get", "nodes", "-o", "json"], env=env, check=True, capture_output=True)
    for name in nodes:
        subprocess.run(["kubectl", "describe", "node", name], env=env, check=True, capture_output=True)
    return time.monotonic() - start


def main() -> None:  # noqa: PLR0915 - a linear script of measurements
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=20000)
    ap.add_argument("--clients", default="100,1000")
    ap.add_argument("--rate", type=float, default=20.0, help="changes per second during the latency runs")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--describe-nodes", type=int, default=20, help="nodes kubectl describes (per-node cost)")
    ap.add_argument("--api-workers", default="1,2", help="API processes (uvicorn workers) per latency round")
    ap.add_argument("--status-calls", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-rt-"))
    procs: list[subprocess.Popen[bytes]] = []
    pg = EmbeddedPostgres(tmp / "pg").start()
    rd = EmbeddedRedis(tmp / "redis").start()
    ks: RunningKubeSim = start_kubesim(controllers=False, history_size=50_000)
    try:
        print(f"populating kubesim: {args.nodes} nodes, {args.pods} pods ...", flush=True)
        namespaces = ["bench", "ml-training", "podium"]
        ks.call(lambda: populate(ks.sim.store, namespaces, args.nodes, args.pods), timeout=900)
        kubeconfig = ks.write_kubeconfig(tmp / "kubeconfig")
        upgrade(pg.url)
        # This process's own writes (a new user moves the auth epoch after its commit) go to this Redis.
        use_settings(PodiumSettings(environment="development", database_url=pg.url, redis_url=rd.url))
        with unit_of_work(session_factory(pg.url)) as s:
            register_cluster(s, CLUSTER, kubeconfig_path=str(kubeconfig), context="kubesim")
            _, token = create_user(s, "bench", Role.admin)
        env = {
            **os.environ,
            "PODIUM_ENVIRONMENT": "development",
            "PODIUM_DATABASE_URL": pg.url,
            "PODIUM_REDIS_URL": rd.url,
            "PODIUM_WATCHER_METRICS_PORT": "0",
            # The per-user rate limit would measure itself; the benchmark measures the reads.
            "PODIUM_RATE_LIMIT_PER_SECOND": "1000000",
            "PODIUM_RATE_LIMIT_BURST": "1000000",
        }
        redis = Redis.from_url(rd.url)

        t0 = time.monotonic()
        watcher = spawn([sys.executable, "-m", "podium_watcher"], env, tmp / "watcher.log")
        procs.append(watcher)
        wait_until(
            lambda: redis.hlen(state_key(CLUSTER, "pods")) >= args.pods,
            900,
            "the watcher's first sync",
            interval=0.1,
        )
        sync_s = time.monotonic() - t0
        events = redis.xlen(stream_key(CLUSTER))
        time.sleep(2)
        print(
            f"watcher first sync: {events} objects in {sync_s:.1f}s (incl. process start) "
            f"= {events / sync_s:.0f} events/s; watcher RSS {rss_mib(watcher.pid):.0f} MiB "
            f"with {args.pods} pods / {args.nodes} nodes"
        )

        # Sustained: a burst of creates straight into the store; time until all reached Redis.
        burst = 5000
        ks.call(lambda: ks.sim.store.create(RESOURCES["namespaces"], None, {"metadata": {"name": LAT_NS}}))
        before = redis.xlen(stream_key(CLUSTER))
        t0 = time.monotonic()
        ks.call(
            lambda: (
                [
                    ks.sim.store.create(
                        RESOURCES["pods"],
                        LAT_NS,
                        {
                            "metadata": {"name": f"burst-{i}"},
                            "spec": {"containers": [{"name": "c", "image": "x"}]},
                        },
                    )
                    for i in range(burst)
                ]
                and None
            ),
            timeout=300,
        )
        wait_until(lambda: redis.xlen(stream_key(CLUSTER)) >= before + burst, 300, "the burst", interval=0.1)
        burst_s = time.monotonic() - t0
        print(
            f"sustained watch → Redis: {burst} pod creations in {burst_s:.2f}s = "
            f"{burst / burst_s:.0f} events/s (includes kubesim creating them)"
        )

        kube = config.new_client_from_config(config_file=str(kubeconfig))
        client.CoreV1Api(kube).create_namespaced_pod(
            LAT_NS, {"metadata": {"name": "lat-pod"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        )
        for round_no, workers in enumerate(int(x) for x in args.api_workers.split(",") if x):
            port = free_port()
            api = spawn(
                [sys.executable, "-m", "podium_cli", "api", "--port", str(port), "--log-level", "warning",
                 *(["--workers", str(workers)] if workers > 1 else [])],
                env, tmp / f"api-{workers}.log",
            )  # fmt: skip
            procs.append(api)
            wait_for_port(port, 120)
            api_url = f"http://127.0.0.1:{port}"
            wait_until(
                lambda a=api, w=workers: len(tree_pids(a.pid)) >= (w + 1 if w > 1 else 1),
                60,
                "the API workers",
                interval=0.2,
            )
            if round_no == 0:
                status_figures(api_url, token, redis, args, kubeconfig, api.pid)
            print(f"-- {workers} API process(es); load average {os.getloadavg()[0]:.1f}", flush=True)
            for n in [int(x) for x in args.clients.split(",") if x]:
                try:
                    res = latency_run(api_url, token, n, args.rate, args.seconds, kube, redis, api.pid)
                except Exception as exc:  # report, don't hide: e.g. too many clients for this machine
                    print(f"N={n}: failed: {exc!r}")
                    continue
                print(
                    f"N={n} clients, {args.rate:g} changes/s for {args.seconds:g}s: delivered "
                    f"{res['received']}/{res['expected']} ({res['closed_early']} clients closed early); "
                    f"kubesim→client latency p50 {res['p50'] * 1000:.0f} ms, "
                    f"p99 {res['p99'] * 1000:.0f} ms, max {res['max'] * 1000:.0f} ms; "
                    f"{res['delivered_per_s']:.0f} messages/s delivered; "
                    f"API CPU {res['cpu_per_msg_us']:.0f} µs per delivered message "
                    f"(the clients' process: {res['clients_cpu_per_msg_us']:.0f} µs); "
                    f"API RSS +{res['rss_delta']:.0f} MiB "
                    f"with the clients ({res['rss_delta'] * 1000 / n:.0f} MiB per 1,000 clients); "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            api.terminate()
            api.wait(30)
            procs.remove(api)
        kube.close()
        redis.close()
    finally:
        stop_all(procs)
        ks.stop()
        rd.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
