"""`serve(...)`: run kubesim in the foreground (what `podium kubesim` calls)."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from podium_kubesim.runner import write_kubeconfig
from podium_kubesim.server import create_app
from podium_kubesim.sim import KubeSim

log = logging.getLogger(__name__)


def serve(
    host: str = "127.0.0.1",
    port: int = 6443,
    scenario: str | Path | None = None,
    speed: float = 1.0,
    kubeconfig_out: str | Path | None = None,
) -> None:
    sim = KubeSim(scenario=scenario, speed=speed)
    url = f"http://{host}:{port}"
    if kubeconfig_out:
        path = write_kubeconfig(Path(kubeconfig_out), url)
        log.warning("kubesim kubeconfig written to %s", path)
    uvicorn.run(create_app(sim, server_address=f"{host}:{port}"), host=host, port=port, log_level="warning")
