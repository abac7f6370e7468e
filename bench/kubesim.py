"""kubesim scale figures: state size, list latency, watch fan-out, memory, controller write path.
Prints numbers; asserts nothing.

    .venv/bin/python bench/kubesim.py [--nodes 1000] [--pods 20000] [--watches 200] [--events 500]
                                      [--ready-pods 1000] [--ready-deployments 1] [--only-ready]

The server runs in-process (a background thread with its own event loop, as in the tests). The state,
list and watch figures run with the controllers off, so they measure the API server and store; the
`--ready-pods` figure runs the controllers at speed 1,000 on a cluster of 50 pods per node (20 nodes at
least) and times a Deployment of
that many pods from create to every pod Ready, counting the store writes (resourceVersions) it took.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client, config
from podium_kubesim.resources import RESOURCES
from podium_kubesim.runner import start_kubesim
from podium_kubesim.store import Store

PODS = RESOURCES["pods"]
NODES = RESOURCES["nodes"]
NAMESPACES = RESOURCES["namespaces"]


def node(i: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"hyperpod-i-{i:017x}",
            "labels": {
                "node.kubernetes.io/instance-type": "ml.g5.12xlarge",
                "sagemaker.amazonaws.com/instance-group-name": f"group-{i % 4}",
                "kubernetes.io/hostname": f"hyperpod-i-{i:017x}",
            },
        },
        "status": {
            "capacity": {"cpu": "48", "memory": "192Gi", "nvidia.com/gpu": "4", "pods": "110"},
            "allocatable": {"cpu": "47", "memory": "180Gi", "nvidia.com/gpu": "4", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }


def pod(i: int, nodes: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"model-{i // 100}-{i:06d}",
            "labels": {"model": f"m{i // 100}", "business": "unassigned", "pod-template-hash": "5d8f7c9b6"},
            "annotations": {"controller.kubernetes.io/pod-deletion-cost": "0"},
        },
        "spec": {
            "nodeName": f"hyperpod-i-{i % nodes:017x}",
            "containers": [
                {
                    "name": "vllm",
                    "image": "vllm/vllm-openai:v0.6.4",
                    "args": ["--model", "Qwen/Qwen3-0.6B", "--tensor-parallel-size", "1"],
                    "ports": [{"containerPort": 8000, "name": "http"}],
                    "resources": {
                        "limits": {"nvidia.com/gpu": "1"},
                        "requests": {"cpu": "4", "memory": "16Gi"},
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/health", "port": 8000},
                        "initialDelaySeconds": 30,
                    },
                }
            ],
        },
    }


def populate(store: Store, namespaces: list[str], nodes: int, pods: int) -> None:
    for ns in namespaces:
        if store.peek(NAMESPACES, None, ns) is None:
            store.create(NAMESPACES, None, {"metadata": {"name": ns}})
    for i in range(nodes):
        store.create(NODES, None, node(i))
    for i in range(pods):
        store.create(PODS, namespaces[i % len(namespaces)], pod(i, nodes))


def memory_per_pods(count: int) -> float:
    """MiB of Python heap the store holds for `count` pods (tracemalloc, objects plus indexes and history)."""
    gc.collect()
    tracemalloc.start()
    store = Store(history_size=10_000)
    store.create(NAMESPACES, None, {"metadata": {"name": "mem"}})
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        store.create(PODS, "mem", pod(i, 1000))
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / (1024 * 1024)


async def fan_out(
    url: str, namespace: str, watches: int, events: int, trigger: Any
) -> tuple[float, list[int]]:
    """Open `watches` watches, fire `events` changes, time until every watcher has seen every event."""
    limits = httpx.Limits(max_connections=watches + 10, max_keepalive_connections=watches + 10)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        rv = (await http.get(f"/api/v1/namespaces/{namespace}/configmaps", params={"limit": "1"})).json()
        start_rv = rv["metadata"]["resourceVersion"]
        counts = [0] * watches
        ready = asyncio.Event()
        opened = 0

        async def watcher(idx: int) -> None:
            nonlocal opened
            params = {"watch": "1", "resourceVersion": start_rv}
            async with http.stream(
                "GET", f"/api/v1/namespaces/{namespace}/configmaps", params=params
            ) as resp:
                opened += 1
                if opened == watches:
                    ready.set()
                async for line in resp.aiter_lines():
                    if line and json.loads(line)["type"] in ("ADDED", "MODIFIED"):
                        counts[idx] += 1
                        if counts[idx] == events:
                            return

        tasks = [asyncio.create_task(watcher(i)) for i in range(watches)]
        await asyncio.wait_for(ready.wait(), 60)
        started = time.perf_counter()
        await asyncio.to_thread(trigger)
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        return time.perf_counter() - started, counts


def bench_lists(url: str, per_ns: int, pods: int, nodes: int) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        for attempt in ("cold", "warm"):
            t0 = time.perf_counter()
            resp = http.get("/api/v1/namespaces/pool-a/pods")
            t1 = time.perf_counter()
            print(
                f"list {per_ns} pods over HTTP ({attempt}): {t1 - t0:.3f}s, {len(resp.content) / 1e6:.1f} MB"
            )
        t0 = time.perf_counter()
        resp = http.get("/api/v1/pods", params={"labelSelector": "model=m7"})
        print(
            f"list with a label selector across {pods} pods: {time.perf_counter() - t0:.3f}s "
            f"({len(resp.json()['items'])} items)"
        )
        t0 = time.perf_counter()
        pages = 0
        token = None
        while True:
            params = {"limit": "500"}
            if token:
                params["continue"] = token
            page = http.get("/api/v1/namespaces/pool-a/pods", params=params).json()
            pages += 1
            token = page["metadata"].get("continue")
            if not token:
                break
        print(f"paginated list of {per_ns} pods, {pages} pages of 500: {time.perf_counter() - t0:.3f}s")
        t0 = time.perf_counter()
        http.get("/api/v1/nodes")
        print(f"list {nodes} nodes: {time.perf_counter() - t0:.3f}s")


READY_SCENARIO = """
name: bench-ready
region: us-west-2
namespaces: [bench]
timings: {{scheduleSeconds: 0.1, pullSeconds: 1, startSeconds: 1, readySeconds: 1, logLineSeconds: 1}}
nodeGroups:
  - {{name: cpu, kind: eks, instanceType: m5.4xlarge, count: {nodes}}}
"""


def bench_ready(pods: int, deployments: int = 1) -> None:
    """Time for `deployments` Deployments of `pods` replicas each to become Ready (controllers on)."""
    total = pods * deployments
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "bench-ready.yaml"
        nodes = max(20, total // 50)
        scenario.write_text(READY_SCENARIO.format(nodes=nodes))
        with start_kubesim(scenario=scenario, speed=1000) as ks:
            apps = client.AppsV1Api(
                config.new_client_from_config(config_file=str(ks.write_kubeconfig(Path(tmp) / "kc")))
            )
            rv0 = ks.call(lambda: ks.sim.store.resource_version)
            started = time.perf_counter()
            names = [f"ready-bench-{i}" for i in range(deployments)]
            for name in names:
                labels = {"app": name}
                body = {
                    "metadata": {"name": name},
                    "spec": {
                        "replicas": pods,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                        },
                    },
                }
                apps.create_namespaced_deployment("bench", body)
            ready = 0
            while ready < total:
                time.sleep(0.1)
                items = apps.list_namespaced_deployment("bench").items
                ready = sum(d.status.ready_replicas or 0 for d in items if d.status)
                if time.perf_counter() - started > 1800:
                    raise TimeoutError(f"only {ready}/{total} pods Ready after 30 minutes")
            took = time.perf_counter() - started
            writes = ks.call(lambda: ks.sim.store.resource_version) - rv0
            print(
                f"{deployments} deployment(s) x {pods} pods Ready (controllers on, speed 1000, "
                f"{nodes} nodes): {took:.1f}s, {writes:,} store writes ({writes / total:.1f} per pod, "
                f"{writes / took:,.0f} writes/s)"
            )
            apps.api_client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--watches", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--ready-pods", type=int, default=1000, help="pods per Deployment")
    parser.add_argument("--ready-deployments", type=int, default=1)
    parser.add_argument("--only-ready", action="store_true", help="run only the --ready-pods figure")
    args = parser.parse_args()

    bench_ready(args.ready_pods, args.ready_deployments)
    if args.only_ready:
        return

    print(
        f"memory: {memory_per_pods(10_000):.1f} MiB of Python heap per 10,000 pods "
        "(store + indexes + history)"
    )

    with start_kubesim(controllers=False, history_size=max(10_000, args.events * 2)) as ks:
        namespaces = ["pool-a", "pool-b"]
        started = time.perf_counter()
        ks.call(lambda: populate(ks.sim.store, namespaces, args.nodes, args.pods), timeout=600)
        elapsed = time.perf_counter() - started
        print(
            f"state: {args.nodes} nodes + {args.pods} pods created in {elapsed:.1f}s "
            f"({args.pods / elapsed:,.0f} pods/s through Store.create with defaulting and validation)"
        )

        bench_lists(ks.url, args.pods // len(namespaces), args.pods, args.nodes)

        kubeconfig = ks.write_kubeconfig(Path("/tmp/kubesim-bench-kubeconfig"))
        api = config.new_client_from_config(config_file=str(kubeconfig))
        t0 = time.perf_counter()
        items = client.CoreV1Api(api).list_namespaced_pod("pool-a").items
        print(
            f"list {len(items)} pods with the official Python client (incl. its deserialization): "
            f"{time.perf_counter() - t0:.2f}s"
        )
        api.close()

        ks.call(lambda: ks.sim.store.create(NAMESPACES, None, {"metadata": {"name": "fanout"}}))
        cm = RESOURCES["configmaps"]

        def trigger() -> None:
            def burst() -> None:
                for i in range(args.events):
                    ks.sim.store.create(cm, "fanout", {"metadata": {"name": f"c{i}"}, "data": {"i": str(i)}})

            ks.call(burst, timeout=120)

        took, counts = asyncio.run(fan_out(ks.url, "fanout", args.watches, args.events, trigger))
        delivered = sum(counts)
        print(
            f"watch fan-out: {args.watches} watches x {args.events} events = {delivered} deliveries "
            f"(every watcher got every event: {all(c == args.events for c in counts)}) in {took:.2f}s "
            f"({delivered / took:,.0f} events/s delivered)"
        )


if __name__ == "__main__":
    main()
