"""The command pipeline for real, for tests in any package: a database and Redis database of their own, a
kubesim registered as a cluster, and a Celery worker process (with beat, so the sweep runs) started with
short timings. To use them elsewhere, import them in that package's conftest.py:

    from worker.fixtures import *  # noqa: F403  (pipeline, worker, sim_cluster, submit, wait_until …)

    def test_x(pipeline, worker, sim_cluster, submit):
        op = submit("scale", {"namespace": "default", "name": "web", "replicas": 3})
        done = pipeline.wait_finished(op.id)

Everything is module-scoped: a worker process starts in ~2 s, so one per test module, and each module
gets a fresh database so its sweep never touches another module's operations."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.audit.service import verify
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis
from podium_shared.kube.clients import reset_cache
from podium_shared.models.audit import AuditEvent
from podium_shared.models.operation import Operation
from podium_shared.models.user import Role
from podium_shared.operations import celery_app
from podium_shared.operations.service import accept_command, prepare_command, write_command
from podium_shared.settings import PodiumSettings
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from support.waiting import wait_until

T = TypeVar("T")

SIM_CLUSTER = "sim"
KUBESIM_SPEED = 20.0
_counter = itertools.count(1)


@dataclass
class Pipeline:
    settings: PodiumSettings
    sessions: sessionmaker[Session]
    redis: Redis

    def get(self, op_id: uuid.UUID | str) -> Operation:
        with self.sessions() as session:
            op = session.get(Operation, uuid.UUID(str(op_id)))
            assert op is not None
            session.expunge(op)
            return op

    def wait_finished(self, op_id: uuid.UUID | str, timeout: float = 30.0) -> Operation:
        def finished() -> Operation | None:
            op = self.get(op_id)
            return op if op.status.finished else None

        return wait_until(finished, timeout, f"operation {op_id} to finish")

    def children(self, parent_id: uuid.UUID | str) -> list[Operation]:
        with self.sessions() as session:
            rows = list(
                session.scalars(select(Operation).where(Operation.parent_id == uuid.UUID(str(parent_id))))
            )
            session.expunge_all()
            return rows

    def audit(self, op_id: uuid.UUID | str, action: str | None = None) -> list[AuditEvent]:
        with self.sessions() as session:
            stmt = select(AuditEvent).where(AuditEvent.operation_id == uuid.UUID(str(op_id)))
            if action:
                stmt = stmt.where(AuditEvent.action == action)
            rows = list(session.scalars(stmt.order_by(AuditEvent.id)))
            session.expunge_all()
            return rows

    def verify_audit(self) -> None:
        with self.sessions() as session:
            result = verify(session)
        assert result.ok, result


def _fresh_database(postgres: EmbeddedPostgres) -> str:
    name = f"podium_pipe_{os.getpid()}_{next(_counter)}"
    postgres.ensure_database(name)
    url = postgres.url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


@pytest.fixture(scope="module")
def pipeline(postgres: EmbeddedPostgres, redis_server: EmbeddedRedis) -> Iterator[Pipeline]:
    # Redis database 1-15: this module's own broker queues and event streams (db 0 is everyone else's).
    redis_url = f"redis://127.0.0.1:{redis_server.port}/{1 + next(_counter) % 15}"
    with Redis.from_url(redis_url) as fresh:
        fresh.flushdb()
    settings = PodiumSettings(
        environment="test",
        database_url=_fresh_database(postgres),
        redis_url=redis_url,
        kubeconfig=None,
        kube_qps=2000.0,
        kube_burst=2000,
        operation_lease_seconds=2.0,
        operation_max_attempts=6,
        operation_backoff_base_seconds=0.05,
        operation_backoff_max_seconds=0.5,
        sweep_interval_seconds=0.5,
        sweep_undispatched_grace_seconds=1.0,
        sweep_redispatch_after_seconds=4.0,
        worker_heartbeat_seconds=1.0,
    )
    celery_app.configure(settings)
    redis = Redis.from_url(redis_url)
    yield Pipeline(settings, session_factory(settings.database_url), redis)
    redis.close()


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKubeSim]:
    with start_kubesim(speed=KUBESIM_SPEED) as running:
        yield running
    reset_cache()


@pytest.fixture(scope="module")
def sim_kubeconfig(kubesim: RunningKubeSim, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kubesim.write_kubeconfig(tmp_path_factory.mktemp("sim") / "kubeconfig")


@pytest.fixture(scope="module")
def sim_cluster(pipeline: Pipeline, sim_kubeconfig: Path) -> str:
    """The kubesim registered as cluster `sim` in this module's database."""
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(session, SIM_CLUSTER, kubeconfig_path=str(sim_kubeconfig), context="kubesim")
    return SIM_CLUSTER


@pytest.fixture(scope="module")
def kube(sim_kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    """The test's own client to kubesim (set-up and checks), separate from the worker's."""
    api = k8s_config.new_client_from_config(config_file=str(sim_kubeconfig))
    yield api
    api.close()


@pytest.fixture
def namespace(kube: k8s.ApiClient) -> str:
    name = f"w-{uuid.uuid4().hex[:8]}"
    k8s.CoreV1Api(kube).create_namespace({"metadata": {"name": name}})
    return name


class Faults:
    """kubesim's /_sim/ fault injection over HTTP."""

    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=url, timeout=5.0)

    def add(self, **rule: Any) -> int:
        r = self._http.post("/_sim/faults", json=rule)
        r.raise_for_status()
        return int(r.json()["ids"][0])

    def remove(self, rule_id: int) -> None:
        self._http.delete(f"/_sim/faults/{rule_id}").raise_for_status()

    def clear(self) -> None:
        self._http.delete("/_sim/faults").raise_for_status()

    def rules(self) -> list[dict[str, Any]]:
        return list(self._http.get("/_sim/faults").json()["rules"])

    def close(self) -> None:
        self._http.close()


@pytest.fixture
def faults(kubesim: RunningKubeSim) -> Iterator[Faults]:
    f = Faults(kubesim.url)
    yield f
    f.clear()
    f.close()


class WorkerProcess:
    """`python -m podium_worker --beat` in its own process group (so SIGKILL takes its beat child too)."""

    ready_timeout = 90.0  # seconds until the first heartbeat (a loaded machine imports slowly)

    def __init__(self, settings: PodiumSettings, log_path: Path, concurrency: int = 4) -> None:
        self.settings = settings
        self.log_path = log_path
        self.concurrency = concurrency
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update(
            {
                "PODIUM_ENVIRONMENT": s.environment,
                "PODIUM_DATABASE_URL": s.database_url,
                "PODIUM_REDIS_URL": s.redis_url,
                "PODIUM_SECRET_KEY": s.secret_key.get_secret_value(),
                "PODIUM_KUBE_QPS": str(s.kube_qps),
                "PODIUM_KUBE_BURST": str(s.kube_burst),
                "PODIUM_OPERATION_LEASE_SECONDS": str(s.operation_lease_seconds),
                "PODIUM_OPERATION_MAX_ATTEMPTS": str(s.operation_max_attempts),
                "PODIUM_OPERATION_BACKOFF_BASE_SECONDS": str(s.operation_backoff_base_seconds),
                "PODIUM_OPERATION_BACKOFF_MAX_SECONDS": str(s.operation_backoff_max_seconds),
                "PODIUM_SWEEP_INTERVAL_SECONDS": str(s.sweep_interval_seconds),
                "PODIUM_SWEEP_UNDISPATCHED_GRACE_SECONDS": str(s.sweep_undispatched_grace_seconds),
                "PODIUM_SWEEP_REDISPATCH_AFTER_SECONDS": str(s.sweep_redispatch_after_seconds),
                "PODIUM_WORKER_HEARTBEAT_SECONDS": str(s.worker_heartbeat_seconds),
            }
        )
        return env

    def start(self) -> WorkerProcess:
        redis = Redis.from_url(self.settings.redis_url)
        before = set(redis.keys("podium:heartbeat:worker:*"))
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "podium_worker", "--beat", "--concurrency", str(self.concurrency),
             "--loglevel", "INFO"],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        proc = self.proc

        def ready() -> bool:
            assert proc.poll() is None, f"worker exited early; see {self.log_path}"
            return bool(set(redis.keys("podium:heartbeat:worker:*")) - before)

        try:
            # Generous: on a loaded machine a worker's imports alone can take tens of seconds.
            wait_until(ready, self.ready_timeout, "the worker's heartbeat")
        except BaseException:
            self.kill()  # a worker that started too late must not outlive the test that gave up on it
            raise
        finally:
            redis.close()
        return self

    def kill(self) -> None:
        """SIGKILL, no goodbye: unacknowledged messages stay with the broker, leases stay in Postgres."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class MlflowWorker(WorkerProcess):
    """A worker that talks to the test's MLflow server: submitted jobs get MLFLOW_TRACKING_URI (kubesim's
    training pods then log their runs there), and delete_training_run reaches the same server."""

    def __init__(self, settings: PodiumSettings, log_path: Path, tracking_uri: str) -> None:
        super().__init__(settings, log_path)
        self.tracking_uri = tracking_uri

    def env(self) -> dict[str, str]:
        return super().env() | {
            "PODIUM_MLFLOW_TRACKING_URI": self.tracking_uri,
            "PODIUM_TRAINING_MLFLOW_TRACKING_URI": self.tracking_uri,
            "PODIUM_TRAINING_DOWNLOAD_POLL_SECONDS": "0.05",
        }


@pytest.fixture(scope="module")
def worker(
    pipeline: Pipeline, sim_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(pipeline.settings, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield proc
    proc.stop()


ADMIN = Principal(username="alice", role=Role.admin, namespaces=None)


def write_label(session: Session, name: str, request_id: str, **params: Any) -> Operation:
    """A label command for configmap `name` prepared and written in the caller's transaction, as the group
    commit writes one (`prepare_command`, then `write_command`); the caller commits."""
    prepared = prepare_command(
        session,
        ADMIN,
        RequestMeta(request_id=request_id, client_addr="127.0.0.1"),
        kind="label",
        cluster=SIM_CLUSTER,
        params={"namespace": "default", "kind": "configmap", "name": name, "labels": {"k": "v"}, **params},
        idempotency_key=None,
    )
    return write_command(session, prepared)


@pytest.fixture(scope="module")
def submit(pipeline: Pipeline) -> Callable[..., Operation]:
    """submit(kind, params, cluster="sim", principal=ADMIN) -> the accepted Operation (committed, sent)."""

    def submit_(
        kind: str,
        params: dict[str, Any],
        *,
        cluster: str = SIM_CLUSTER,
        principal: Principal = ADMIN,
        idempotency_key: str | None = None,
    ) -> Operation:
        with unit_of_work(pipeline.sessions) as session:
            op = accept_command(
                session,
                principal,
                RequestMeta(request_id=f"test-{uuid.uuid4().hex[:8]}", client_addr="127.0.0.1"),
                kind=kind,
                cluster=cluster,
                params=params,
                idempotency_key=idempotency_key,
            )
            session.flush()
            session.expunge(op)
        return op

    return submit_
