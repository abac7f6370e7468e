"""Postgres, Redis and MLflow tracking servers started from local binaries, for `podium up` and for the tests.

No container engine exists on the machines Podium is developed on, so the embedded defaults run the
Debian server binaries directly, each in its own data directory on a loopback port. Postgres refuses to
run as root, so under root the server runs as the `postgres` system user (created by the Debian package)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from psycopg import sql

from podium_shared.errors import PodiumError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise PodiumError(f"server on port {port} exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise PodiumError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def _find_postgres_bin() -> Path:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for root in roots:
        if (root / "postgres").exists():
            return root
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise PodiumError(
        "PostgreSQL server binaries not found; install Debian's `postgresql` package "
        "(make setup does this) or set DATABASE_URL to a running server"
    )


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the `postgres` system user (Postgres refuses to run as root)."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    return {}


_PR_SET_PDEATHSIG = 1


def _parent_death_signal(sig: signal.Signals) -> Callable[[], None]:
    """A preexec_fn asking Linux to send `sig` to the server when the process that started it dies, even by
    SIGKILL, so a killed `podium up` leaves no database behind. It runs after the switch to the server's
    user (a credential change would clear it) and only suits servers started from the main thread: the
    signal follows the starting thread, not the process."""

    def arm() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)

    return arm


def _chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = 0
    user: str = "podium"
    database: str = "podium"
    # `podium up` sets this; tests leave it off (their servers may be started from other threads).
    die_with_parent: bool = False
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        bin_dir = _find_postgres_bin()
        self.port = self.port or free_port()
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The server user must be able to reach its data directory through every parent.
            _chown_for_server(self.data_dir)
            for parent in self.data_dir.resolve().parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(  # noqa: S603 - fixed argv of a local server binary, no user input
                [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", self.user,
                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                check=True, capture_output=True, cwd=self.data_dir, **_run_as(),
            )  # fmt: skip
        sock_dir = self.data_dir / "sock"
        sock_dir.mkdir(exist_ok=True)
        _chown_for_server(sock_dir)
        self._log = log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv of a local server binary
            [str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(sock_dir), "-c", "fsync=off", "-c", "max_connections=300",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.data_dir, **_run_as(),
            # SIGINT is Postgres's fast shutdown: it does not wait for clients that may never disconnect.
            preexec_fn=_parent_death_signal(signal.SIGINT) if self.die_with_parent else None,  # noqa: PLW1509 - only podium up sets it, before it starts any thread
        )  # fmt: skip
        wait_for_port(self.port, timeout, self._proc)
        self._wait_ready(bin_dir, timeout)
        self.ensure_database(self.database)
        return self

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = subprocess.run(  # noqa: S603 - fixed argv of a local server binary, no user input
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user],
                capture_output=True,
                check=False,
            )
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise PodiumError("postgres did not become ready")

    def ensure_database(self, name: str) -> None:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            # SIGINT = "fast shutdown": aborts sessions, checkpoints, exits cleanly.
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._log:
            self._log.close()
            self._log = None


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int = 0
    die_with_parent: bool = False  # see EmbeddedPostgres.die_with_parent
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 30.0) -> EmbeddedRedis:
        binary = shutil.which("redis-server")
        if not binary:
            raise PodiumError(
                "redis-server not found; install Debian's `redis-server` package "
                "(make setup does this) or set REDIS_URL to a running server"
            )
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = log = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115 - closed in stop()
        # appendonly: a restart keeps queued Celery messages and the event stream, as a real deployment would.
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv of a local server binary
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--appendonly", "yes", "--appendfsync", "no", "--save", "", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_parent_death_signal(signal.SIGTERM) if self.die_with_parent else None,  # noqa: PLW1509 - as above
        )  # fmt: skip
        wait_for_port(self.port, timeout, self._proc)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self._proc.wait(30)
        self._proc = None
        if self._log:
            self._log.close()
            self._log = None


@dataclass
class EmbeddedMlflow:
    """A real MLflow tracking server (`mlflow server`): SQLite backend store and a local artifact root in
    `data_dir`, one uvicorn worker, ready when GET /health answers. It needs the full `mlflow` package
    (extra `mlflow-server`); Podium's own processes only need the client (`mlflow-skinny`)."""

    data_dir: Path
    port: int = 0
    die_with_parent: bool = False  # see EmbeddedPostgres.die_with_parent
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> EmbeddedMlflow:
        self.launch()
        self.wait_healthy(timeout)
        return self

    def launch(self) -> EmbeddedMlflow:
        """Start the process without waiting for it (`podium up` starts the rest meanwhile)."""
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        artifacts = self.data_dir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        env = dict(os.environ)
        # The server's job runner (a second long-lived process) serves features Podium does not use.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        self._log = log = open(self.data_dir / "mlflow.log", "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter running mlflow's CLI
            [sys.executable, "-m", "mlflow", "server",
             "--backend-store-uri", f"sqlite:///{self.data_dir / 'mlflow.db'}",
             "--default-artifact-root", str(artifacts), "--no-serve-artifacts",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=self.data_dir,
            preexec_fn=_parent_death_signal(signal.SIGTERM) if self.die_with_parent else None,  # noqa: PLW1509 - as above
        )  # fmt: skip
        return self

    def wait_healthy(self, timeout: float = 240.0) -> None:
        # Start-up imports most of MLflow (Flask, FastAPI, SQLAlchemy migrations): tens of seconds on a
        # busy machine, so the deadline is generous and the process is checked on every poll.
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise PodiumError(
                        f"mlflow server exited with code {self._proc.returncode} (is the full `mlflow` "
                        "package installed? pip install 'podium[mlflow-server]', or set MLFLOW_TRACKING_URI);"
                        f" see {self.data_dir / 'mlflow.log'}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/health").status_code == 200:
                        return
                time.sleep(0.2)
        self.stop()
        raise PodiumError(
            f"mlflow server not healthy after {timeout:.0f}s; see {self.data_dir / 'mlflow.log'}"
        )

    @property
    def launched(self) -> bool:
        return self._proc is not None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            # The server forks its uvicorn worker into the same (new) session: signal the whole group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._proc = None
        if self._log:
            self._log.close()
            self._log = None
