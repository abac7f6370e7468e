"""Start kubesim in-process on a free port (tests, `make run`) and write a kubeconfig that points at it."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import uvicorn
import yaml

from podium_kubesim import tls as tls_module
from podium_kubesim.server import create_app
from podium_kubesim.sim import KubeSim

T = TypeVar("T")


def kubeconfig(
    url: str,
    context: str = "kubesim",
    token: str = "kubesim-token",  # noqa: S107 - any token is accepted
    ca_pem: bytes | None = None,
) -> dict[str, Any]:
    """A kubeconfig for kubesim; any bearer token is accepted, so the token is a placeholder. Over HTTPS
    it carries kubesim's CA inline, as `aws eks update-kubeconfig` writes an EKS cluster's."""
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": f"{context}-admin", "namespace": "default"},
            }
        ],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, context: str = "kubesim", ca_pem: bytes | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(url, context, ca_pem=ca_pem), sort_keys=False))
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class RunningKubeSim:
    """kubesim served by uvicorn on its own event loop in a background thread; over HTTPS with a CA of
    its own when `tls` is set (the files live in a temporary directory removed by `stop`)."""

    def __init__(self, sim: KubeSim, host: str, port: int, *, tls: bool = False) -> None:
        self.sim = sim
        self.host = host
        self.port = port or free_port(host)
        self.tls: tls_module.TlsFiles | None = None
        self._tls_dir: str | None = None
        ssl_options: dict[str, Any] = {}
        if tls:
            self._tls_dir = tempfile.mkdtemp(prefix="kubesim-tls-")
            self.tls = tls_module.generate(Path(self._tls_dir), [host])
            ssl_options = {"ssl_certfile": str(self.tls.cert_path), "ssl_keyfile": str(self.tls.key_path)}
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        config = uvicorn.Config(
            create_app(sim, server_address=f"{host}:{self.port}"),
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
            **ssl_options,
        )
        self._server = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name=f"kubesim-{self.port}", daemon=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._server.serve())
        loop.close()

    def start(self, timeout: float = 15.0) -> RunningKubeSim:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("kubesim failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("kubesim did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        # Open watches and log follows would otherwise hold the graceful shutdown for its whole timeout.
        if self._loop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError, TimeoutError):  # the loop may already be going down
                self.call(self.sim.watches.close_all, timeout=5)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    @property
    def ca_pem(self) -> bytes | None:
        return self.tls.ca_pem if self.tls is not None else None

    def write_kubeconfig(self, path: Path, context: str = "kubesim") -> Path:
        return write_kubeconfig(path, self.url, context, ca_pem=self.ca_pem)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `fn` on the sim's loop (the store is single-threaded) and return its result."""
        assert self._loop is not None
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed back to the calling thread
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def __enter__(self) -> RunningKubeSim:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_kubesim(
    scenario: str | Path | None = None,
    speed: float = 1.0,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: bool = False,
    **sim_options: Any,
) -> RunningKubeSim:
    """Start kubesim in a background thread (over HTTPS with `tls`); use as a context manager or call
    `.stop()`."""
    sim = KubeSim(scenario=scenario, speed=speed, **sim_options)
    return RunningKubeSim(sim, host, port, tls=tls).start()
