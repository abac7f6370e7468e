"""Model-serving figures on the real pipeline (embedded Postgres and Redis, a Celery worker process,
kubesim over HTTP). Prints numbers; asserts nothing.

    .venv/bin/python bench/serving.py [--speed 1] [--replicas 4] [--pods 100]

1. deploy → ready: from `deploy_model` accepted to all replicas ready, split into Podium's overhead
   (accepted → the Deployment exists in the cluster, seen by a watch) and kubesim's own simulated start-up
   (Deployment created → all replicas ready).
2. move N pods: a CPU pool of N pods all serving business `a`; time `distribute_pool` moving every pod to
   `b` (each pod is relabelled out of `a`, drained through its /metrics, then relabelled into `b`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchlib.waiting import wait_until
from kubernetes import client, config, watch
from podium_kubesim.runner import start_kubesim
from podium_shared import domains
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis
from podium_shared.models.operation import Operation
from podium_shared.models.user import Role
from podium_shared.operations import celery_app
from podium_shared.operations.service import accept_command
from podium_shared.settings import PodiumSettings
from redis import Redis

ADMIN = Principal(username="bench", role=Role.admin, namespaces=None)


class Bench:
    def __init__(self, settings: PodiumSettings, api: client.ApiClient) -> None:
        self.settings = settings
        self.sessions = session_factory(settings.database_url)
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)

    def submit(self, kind: str, params: dict[str, Any]) -> tuple[uuid.UUID, float]:
        with unit_of_work(self.sessions) as session:
            op = accept_command(
                session,
                ADMIN,
                RequestMeta(request_id=f"bench-{uuid.uuid4().hex[:8]}"),
                kind=kind,
                cluster="sim",
                params=params,
                idempotency_key=None,
            )
            session.flush()
            op_id = op.id
        return op_id, time.monotonic()

    def finished(self, op_id: uuid.UUID, timeout: float = 600) -> Operation:
        def done() -> Operation | None:
            with self.sessions() as session:
                op = session.get(Operation, op_id)
                assert op is not None
                if op.status.finished:
                    session.expunge(op)
                    return op
            return None

        op: Operation = wait_until(done, timeout, f"operation {op_id}")
        if op.status.value != "succeeded":
            raise SystemExit(f"operation {op.kind} {op.status.value}: {op.error}")
        return op

    def all_ready(self, namespace: str, name: str, replicas: int, timeout: float) -> float:
        def ready() -> bool:
            status = self.apps.read_namespaced_deployment(name, namespace).status
            return (status.ready_replicas or 0) == replicas

        wait_until(ready, timeout, f"{name} ready", interval=0.02)
        return time.monotonic()


def deploy_to_ready(bench: Bench, replicas: int, timeout: float) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    bench.core.create_namespace({"metadata": {"name": namespace}})
    created: dict[str, float] = {}

    def watch_created() -> None:
        w = watch.Watch()
        for event in w.stream(bench.apps.list_namespaced_deployment, namespace, timeout_seconds=int(timeout)):
            if event["type"] == "ADDED":
                created["at"] = time.monotonic()
                w.stop()

    watcher = threading.Thread(target=watch_created, daemon=True)
    watcher.start()
    time.sleep(0.2)  # let the watch be established before the command exists (bench set-up only)
    op_id, accepted = bench.submit(
        "deploy_model",
        {"namespace": namespace, "command_line": "vllm serve Qwen/Qwen3-0.6B", "replicas": replicas},
    )
    name = bench.finished(op_id).result["name"]  # type: ignore[index]
    ready = bench.all_ready(namespace, name, replicas, timeout)
    watcher.join(5)
    total = ready - accepted
    overhead = created["at"] - accepted
    print(f"deploy {replicas} replicas → all ready: {total:.2f}s total")
    print(f"  Podium overhead (accepted → Deployment in the cluster): {overhead * 1000:.0f} ms")
    print(f"  kubesim simulated start-up (Deployment → all ready):     {total - overhead:.2f}s")


def move_pods(bench: Bench, pods: int, timeout: float) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    bench.core.create_namespace({"metadata": {"name": namespace}})
    op_id, _ = bench.submit(
        "deploy_model",
        {
            "namespace": namespace,
            "engine": "vllm",
            "model": "bench/cpu-model",
            "gpus_per_replica": 0,
            "replicas": pods,
            "pool": True,
        },
    )
    name = bench.finished(op_id).result["name"]  # type: ignore[index]
    bench.all_ready(namespace, name, pods, timeout)
    for business in ("a", "b"):
        bench.finished(
            bench.submit(
                "create_business_service", {"namespace": namespace, "pool": name, "business": business}
            )[0]
        )
    bench.finished(
        bench.submit(
            "distribute_pool",
            {"namespace": namespace, "pool": name, "counts": {"a": pods}, "concurrency": 16},
        )[0]
    )
    op_id, accepted = bench.submit(
        "distribute_pool", {"namespace": namespace, "pool": name, "counts": {"b": pods}, "concurrency": 16}
    )
    op = bench.finished(op_id, timeout)
    elapsed = time.monotonic() - accepted
    print(
        f"move {op.result['moves']} pods a → b (drained, concurrency 16): {elapsed:.2f}s "  # type: ignore[index]
        f"({elapsed / max(pods, 1) * 1000:.0f} ms per pod)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed", type=float, default=1.0, help="kubesim speed factor")
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "postgres").start()
        redis = EmbeddedRedis(Path(tmp) / "redis").start()
        worker: subprocess.Popen[bytes] | None = None
        try:
            postgres.ensure_database("bench")
            url = postgres.url.rsplit("/", 1)[0] + "/bench"
            upgrade(url)
            settings = PodiumSettings(
                environment="test", database_url=url, redis_url=redis.url, kube_qps=500.0, kube_burst=500
            )
            celery_app.configure(settings)
            domains.install()  # the command kinds, as the API and the worker install them at start
            with start_kubesim(speed=args.speed) as sim:
                kubeconfig = sim.write_kubeconfig(Path(tmp) / "kubeconfig")
                with unit_of_work(session_factory(url)) as session:
                    register_cluster(session, "sim", kubeconfig_path=str(kubeconfig), context="kubesim")
                env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
                env.update(
                    {
                        "PODIUM_ENVIRONMENT": "test",
                        "PODIUM_DATABASE_URL": url,
                        "PODIUM_REDIS_URL": redis.url,
                        "PODIUM_KUBE_QPS": "500",
                        "PODIUM_KUBE_BURST": "500",
                    }
                )
                worker = subprocess.Popen(
                    [sys.executable, "-m", "podium_worker", "--concurrency", "4", "--loglevel", "WARNING"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                r = Redis.from_url(redis.url)
                wait_until(lambda: r.keys("podium:heartbeat:worker:*"), 60, "the worker")
                api = config.new_client_from_config(config_file=str(kubeconfig))
                bench = Bench(settings, api)
                # Warm-up: the worker's first task imports the command kinds; not Podium's steady state.
                deploy_to_ready(bench, 1, args.timeout)
                print("--- measured ---")
                deploy_to_ready(bench, args.replicas, args.timeout)
                move_pods(bench, args.pods, args.timeout)
        finally:
            if worker is not None:
                os.killpg(worker.pid, 15)
                worker.wait(15)
            redis.stop()
            postgres.stop()


if __name__ == "__main__":
    main()
