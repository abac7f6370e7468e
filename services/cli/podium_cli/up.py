"""`podium up`: the whole system on one machine, supervised by one process.

Order of start: Postgres, Redis (embedded unless DATABASE_URL / REDIS_URL are set), an MLflow tracking
server (unless MLFLOW_TRACKING_URI is set), emulated AWS (unless AWS_ENDPOINT_URL or an
AWS_ENDPOINT_URL_<SERVICE> is set), kubesim (unless KUBECONFIG is set), migrations, the `local` cluster and
the first admin, then the API, the worker (with the sweep's beat) and the watcher as child processes. Stop
is the reverse order, on Ctrl-C or SIGTERM, or as soon as any child dies. docs/running.md describes the
process model."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import yaml
from podium_shared.embedded import EmbeddedMlflow, EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from podium_shared.errors import PodiumError

from podium_cli.bootstrap import EksRef, ensure_admin_password, prepare_from_settings, write_private
from podium_cli.supervise import Child

LOCAL_CLUSTER = "local"
READY_TIMEOUT = 180.0
# The single switch for how `local` is registered when podium up runs the emulated AWS: True = by its EKS
# name and region (endpoint, CA and token come from the emulated eks:DescribeCluster / STS, pointing at
# kubesim's HTTPS), the path a real EKS cluster takes; False = by the kubeconfig kubesim writes.
REGISTER_LOCAL_BY_EKS_NAME = True


@dataclass(frozen=True)
class LocalAws:
    """The emulated AWS account podium up started and seeded from the kubesim scenario."""

    url: str
    region: str
    eks_cluster: str
    hyperpod_cluster: str | None


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    speed: float = 1.0
    scenario: str | None = None
    worker_concurrency: int = 4
    # One API process by default: a second one doubles the start-up (each imports the whole app), which
    # on a loaded 2-core machine pushed `podium up`'s readiness past its budget. `--api-workers 2` lifts
    # the ceiling of one event loop on WebSocket fan-out and accepts (docs/performance.md).
    api_workers: int = 1


@dataclass
class Stack:
    """Everything started so far, so a failure at any step stops exactly that much."""

    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    mlflow: EmbeddedMlflow | None = None
    children: list[Child] = field(default_factory=list)

    def stop(self) -> None:
        for child in reversed(self.children):
            say(f"stopping {child.name}")
            child.stop()
        if self.mlflow is not None:
            say("stopping mlflow")
            self.mlflow.stop()
        if self.redis is not None:
            say("stopping redis")
            self.redis.stop()
        if self.postgres is not None:
            say("stopping postgres")
            self.postgres.stop()


def say(message: str) -> None:
    print(f"podium up: {message}", flush=True)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_up(opts: UpOptions) -> int:
    """Returns the process exit code: 0 after a requested stop, 1 when something failed or died."""
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Stack()
    code = 0
    try:
        _start(opts, stack)
        code = _supervise(stack)
    except _Stop as stop:
        say(f"{stop} received, shutting down")
    except PodiumError as exc:
        say(f"error: {exc.message}")
        code = 1
    except Exception:
        # Unexpected: show the traceback, but still stop whatever was started.
        say("error: start-up failed:\n" + traceback.format_exc())
        code = 1
    finally:
        # A second Ctrl-C must not cut the orderly stop short; each step is bounded by its own timeout.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say("stopped")
    return code


def _start(opts: UpOptions, stack: Stack) -> None:
    data_dir = opts.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)

    database_url = os.environ.get("DATABASE_URL") or os.environ.get("PODIUM_DATABASE_URL")
    if not database_url:
        say("starting postgres")
        stack.postgres = EmbeddedPostgres(data_dir / "postgres", die_with_parent=True).start()
        database_url = stack.postgres.url
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("PODIUM_REDIS_URL")
    if not redis_url:
        say("starting redis")
        stack.redis = EmbeddedRedis(data_dir / "redis", die_with_parent=True).start()
        redis_url = stack.redis.url
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PODIUM_SECRET_KEY=env.get("PODIUM_SECRET_KEY") or _persistent_secret(data_dir / "secret-key"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("PODIUM_DATABASE_URL", None)
    env.pop("PODIUM_REDIS_URL", None)
    _launch_mlflow(stack, env, data_dir)

    aws = _start_aws_emulator(opts, stack, env, data_dir)

    kubeconfig, context, eks = _start_kubesim(opts, stack, env, data_dir, aws)

    say("applying migrations")
    from podium_shared.db.migrate import upgrade  # noqa: PLC0415 - alembic is slow to import

    upgrade(database_url)
    password = _admin_password(data_dir)
    if eks is not None:
        say(f"registering cluster {LOCAL_CLUSTER} by EKS name {eks.name} ({eks.region})")
        token = _prepare_database(database_url, None, None, data_dir, password, eks=eks)
    else:
        token = _prepare_database(database_url, kubeconfig, context, data_dir, password)
    admin_name, password_current = ensure_admin_password(database_url, password)

    api_args = ["api", "--host", opts.host, "--port", str(opts.port), "--workers", str(opts.api_workers)]
    _spawn(stack, "api", api_args, env, data_dir)
    _spawn(
        stack, "worker", ["worker", "--beat", "--concurrency", str(opts.worker_concurrency)], env, data_dir
    )
    # The watcher's /metrics port is fixed by default; two local stacks (or a test run beside a dev
    # run) must not collide on it.
    watcher_env = {**env, "PODIUM_WATCHER_METRICS_PORT": str(free_port())}
    _spawn(stack, "watcher", ["watcher"], watcher_env, data_dir)

    url = f"http://{'127.0.0.1' if opts.host in ('0.0.0.0', '::') else opts.host}:{opts.port}"  # noqa: S104
    _wait_ready(stack, url)
    print(f"\nPodium is ready.\n  Console:         {url}/", flush=True)
    print(f"  Admin login:     {admin_name}", flush=True)
    print(
        f"  Admin password:  {password}"
        if password_current
        else "  Admin password:  (changed since it was generated; yours)",
        flush=True,
    )
    print(f"  API:             {url}/api/v1 (docs: {url}/api/v1/docs)", flush=True)
    print(
        f"  Admin token:     {token}" if token else "  Admin token:     shown on the first run only",
        flush=True,
    )
    print(f"  kubectl:         KUBECONFIG={kubeconfig} kubectl get nodes", flush=True)
    print(f"  MLflow:          {env.get('MLFLOW_TRACKING_URI') or 'not configured'}", flush=True)
    if aws is not None:
        print(f"  AWS (emulated):  AWS_ENDPOINT_URL={aws.url} (EKS cluster {aws.eks_cluster})", flush=True)
    print(f"  Logs:            {data_dir / 'logs'}/\nPress Ctrl-C to stop.\n", flush=True)
    if stack.mlflow is not None:
        # After the banner: the API, CLI and cluster work meanwhile (training history answers 503 until
        # then), and MLflow's start-up (tens of seconds) does not hold the rest back.
        stack.mlflow.wait_healthy()
        say(f"mlflow ready at {stack.mlflow.url}")


def _launch_mlflow(stack: Stack, env: dict[str, str], data_dir: Path) -> None:
    """The embedded tracking server, unless one is configured. Launched now and checked before the API
    is awaited, because MLflow takes tens of seconds to start."""
    if os.environ.get("MLFLOW_TRACKING_URI") or os.environ.get("PODIUM_MLFLOW_TRACKING_URI"):
        return
    say("starting mlflow")
    stack.mlflow = EmbeddedMlflow(data_dir / "mlflow", die_with_parent=True).launch()
    env["MLFLOW_TRACKING_URI"] = stack.mlflow.url


def _start_kubesim(
    opts: UpOptions, stack: Stack, env: dict[str, str], data_dir: Path, aws: LocalAws | None
) -> tuple[Path, str | None, EksRef | None]:
    """kubesim (unless KUBECONFIG names a cluster): the kubeconfig and context for kubectl, and how to
    register `local` by EKS name when the emulated AWS leads to it."""
    kubeconfig_env = os.environ.get("KUBECONFIG")
    if kubeconfig_env:
        kubeconfig = Path(kubeconfig_env.split(os.pathsep)[0]).resolve()
        return kubeconfig, _current_context(kubeconfig), None
    kubeconfig = data_dir / "kubeconfig"
    port = free_port()
    # HTTPS with a CA of its own, as an EKS endpoint serves; kubesim writes the CA into the kubeconfig.
    args = ["kubesim", "--port", str(port), "--speed", str(opts.speed), "--kubeconfig-out", str(kubeconfig)]
    args.append("--tls")
    if opts.scenario:
        args += ["--scenario", opts.scenario]
    if aws is not None:
        # The cloud controller: kubesim's nodes follow the emulated node groups and instance groups.
        args += ["--eks-cluster", aws.eks_cluster, "--aws-endpoint-url", aws.url, "--aws-region", aws.region]
        if aws.hyperpod_cluster:
            args += ["--hyperpod-cluster", aws.hyperpod_cluster]
    say("starting kubesim")
    kubesim = _spawn(stack, "kubesim", args, env, data_dir)
    _wait_port(kubesim, port)
    eks = None
    if aws is not None:
        _point_eks_at_kubesim(aws, kubeconfig)
        if REGISTER_LOCAL_BY_EKS_NAME:
            eks = EksRef(aws.eks_cluster, aws.region, aws.hyperpod_cluster)
    if eks is None:
        # Only a cluster registered by kubeconfig needs it; one registered by EKS name must never use it.
        env["KUBECONFIG"] = str(kubeconfig)
    return kubeconfig, "kubesim", eks


def _start_aws_emulator(
    opts: UpOptions, stack: Stack, env: dict[str, str], data_dir: Path
) -> LocalAws | None:
    """Emulated AWS (moto + podium_awsemu) unless the environment names AWS endpoints of its own. Podium
    reaches it only through the standard AWS_ENDPOINT_URL, as it would reach AWS (docs/infra.md). The
    account holds the kubesim scenario's groups (podium_awsemu/local_account.py)."""
    if any(k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_") for k in os.environ):
        return None
    from podium_awsemu.local_account import hyperpod_cluster, scenario_seed  # noqa: PLC0415

    port = free_port()
    say("starting emulated AWS")
    emulator = _spawn(
        stack, "awsemu", ["awsemu", "--port", str(port), "--speed", str(opts.speed), "--seed", "none"],
        env, data_dir,
    )  # fmt: skip
    _wait_port(emulator, port)
    url = f"http://127.0.0.1:{port}"
    # Seeded over HTTP here rather than by --seed: the answer means the account exists, so kubesim's cloud
    # controller, started next, cannot find it half made.
    seed = scenario_seed(opts.scenario)
    with httpx.Client(timeout=60.0) as http:
        http.post(url + "/_emu/seed", json=seed).raise_for_status()
    # Emulator credentials replace any ambient ones: real keys have no business going to a local emulator.
    env.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="emulated",
        AWS_SECRET_ACCESS_KEY="emulated",  # noqa: S106 - moto accepts any credentials
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION") or "us-west-2",
    )
    for key in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(key, None)
    return LocalAws(url, str(seed["region"]), str(seed["eks_clusters"][0]["name"]), hyperpod_cluster(seed))


def _point_eks_at_kubesim(aws: LocalAws, kubeconfig: Path) -> None:
    """The emulated EKS cluster's endpoint and CA become kubesim's (read back from the kubeconfig it
    wrote), so `eks:DescribeCluster` leads to kubesim as it leads to a real cluster's API server."""
    from podium_awsemu.local_account import point_at_kubesim  # noqa: PLC0415

    doc: Any = yaml.safe_load(kubeconfig.read_text())
    cluster = doc["clusters"][0]["cluster"]
    ca_pem = base64.b64decode(cluster["certificate-authority-data"])
    point_at_kubesim(aws.url, region=aws.region, endpoint=cluster["server"], ca_pem=ca_pem,
                     eks_cluster=aws.eks_cluster)  # fmt: skip


def _spawn(stack: Stack, name: str, args: list[str], env: dict[str, str], data_dir: Path) -> Child:
    child = Child(name, args, env, data_dir / "logs" / f"{name}.log").start()
    stack.children.append(child)
    return child


def _wait_port(child: Child, port: int) -> None:
    assert child.proc is not None
    try:
        wait_for_port(port, 60.0, child.proc)
    except PodiumError:
        raise PodiumError(f"{child.name} did not start; last log lines:\n{child.log_tail()}") from None


def _wait_ready(stack: Stack, url: str) -> None:
    say(f"waiting for {url}/readyz")
    deadline = time.monotonic() + READY_TIMEOUT
    last = ""
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            _check_children(stack)
            try:
                resp = http.get(url + "/readyz")
                if resp.status_code == 200:
                    return
                last = resp.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.25)
    raise PodiumError(f"not ready after {READY_TIMEOUT:.0f}s: {last}")


def _check_children(stack: Stack) -> None:
    if stack.mlflow is not None and stack.mlflow.launched and not stack.mlflow.running:
        raise PodiumError(f"mlflow exited; see {stack.mlflow.data_dir / 'mlflow.log'}")
    for child in stack.children:
        code = child.exit_code
        if code is not None:
            raise PodiumError(f"{child.name} exited with code {code}; last log lines:\n{child.log_tail()}")


def _supervise(stack: Stack) -> int:
    while True:
        try:
            _check_children(stack)
        except PodiumError as exc:
            say(exc.message)
            return 1
        time.sleep(0.2)


def _persistent_secret(path: Path) -> str:
    """The secret key seals operation params; it must survive restarts, or sealed params of queued
    operations could not be opened after a `podium up` restart."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    write_private(path, value)
    return value


def _current_context(kubeconfig: Path) -> str | None:
    try:
        doc: Any = yaml.safe_load(kubeconfig.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PodiumError(f"cannot read KUBECONFIG {kubeconfig}: {exc}") from None
    return doc.get("current-context") if isinstance(doc, dict) else None


def _admin_password(data_dir: Path) -> str:
    """The first admin's console password: PODIUM_BOOTSTRAP_ADMIN_PASSWORD, else the one generated into
    the data dir on the first run (so every run prints the same one until the admin changes it)."""
    chosen = os.environ.get("PODIUM_BOOTSTRAP_ADMIN_PASSWORD")
    if chosen:
        return chosen
    path = data_dir / "admin-password"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(12)
    write_private(path, value)
    return value


def _prepare_database(
    database_url: str,
    kubeconfig: Path | None,
    context: str | None,
    data_dir: Path,
    password: str,
    *,
    eks: EksRef | None = None,
) -> str | None:
    """Registers the `local` cluster and bootstraps the first admin; returns the admin token if known."""
    token_file = data_dir / "admin-token"
    created = prepare_from_settings(
        database_url,
        cluster=LOCAL_CLUSTER,
        kubeconfig=kubeconfig,
        context=context,
        admin_password=password,
        eks=eks,
    )
    if created:
        write_private(token_file, created)
        return created
    if token_file.exists():
        return token_file.read_text().strip()
    return os.environ.get("PODIUM_BOOTSTRAP_ADMIN_TOKEN")
