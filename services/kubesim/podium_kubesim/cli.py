"""`serve(...)`: run kubesim in the foreground (what `podium kubesim` calls)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from podium_kubesim import tls as tls_module
from podium_kubesim.controllers.cloud_source import CloudConfig
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
    *,
    tls: bool = False,
    tls_dir: str | Path | None = None,
    cloud: CloudConfig | None = None,
) -> None:
    """`cloud` (with a cluster name) makes the nodes follow the emulated cloud's groups."""
    sim = KubeSim(
        scenario=scenario, speed=speed, cloud=cloud if cloud is not None and cloud.enabled else None
    )
    ssl_options: dict[str, Any] = {}
    ca_pem: bytes | None = None
    if tls:
        # Beside the kubeconfig by default, so whoever reads one finds the CA file too.
        directory = Path(
            tls_dir
            or (Path(kubeconfig_out).parent / "kubesim-tls" if kubeconfig_out else None)
            or tempfile.mkdtemp(prefix="kubesim-tls-")
        )
        files = tls_module.generate(directory, [host])
        ssl_options = {"ssl_certfile": str(files.cert_path), "ssl_keyfile": str(files.key_path)}
        ca_pem = files.ca_pem
        log.warning("kubesim serves HTTPS; its CA is %s", files.ca_path)
    if sim.cloud is not None:
        log.warning(
            "kubesim nodes follow EKS cluster %s / HyperPod cluster %s",
            sim.cloud.eks_cluster,
            sim.cloud.hyperpod_cluster,
        )
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    if kubeconfig_out:
        path = write_kubeconfig(Path(kubeconfig_out), url, ca_pem=ca_pem)
        log.warning("kubesim kubeconfig written to %s", path)
    uvicorn.run(
        create_app(sim, server_address=f"{host}:{port}"),
        host=host,
        port=port,
        log_level="warning",
        **ssl_options,
    )
