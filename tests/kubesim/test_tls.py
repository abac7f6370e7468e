"""kubesim over HTTPS with the CA it generates: kubectl, the official client and a plain TLS client trust
it through the kubeconfig alone, and a client without the CA is refused."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from kubernetes import client, config
from podium_kubesim.runner import RunningKubeSim, start_kubesim

from kubesim.test_kubectl_basics import KUBECTL


@pytest.fixture(scope="module")
def https_kubesim() -> Iterator[RunningKubeSim]:
    with start_kubesim("small", speed=20, tls=True) as running:
        yield running


def test_kubeconfig_carries_the_ca_and_an_https_server(https_kubesim: RunningKubeSim, tmp_path: Path) -> None:
    doc = yaml.safe_load(https_kubesim.write_kubeconfig(tmp_path / "config").read_text())
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://127.0.0.1:")
    ca = x509.load_pem_x509_certificate(base64.b64decode(cluster["certificate-authority-data"]))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert https_kubesim.ca_pem == base64.b64decode(cluster["certificate-authority-data"])
    assert https_kubesim.tls is not None
    assert https_kubesim.tls.key_path.stat().st_mode & 0o077 == 0


@pytest.mark.kubectl
def test_kubectl_over_tls(https_kubesim: RunningKubeSim, tmp_path: Path) -> None:
    path = https_kubesim.write_kubeconfig(tmp_path / "config")
    env = {**os.environ, "KUBECONFIG": str(path)}
    result = subprocess.run(
        [KUBECTL, "get", "nodes", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["items"]) > 0
    created = subprocess.run(
        [KUBECTL, "create", "configmap", "over-tls", "--from-literal=k=v", "-n", "default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    # Without the CA kubectl must refuse the server rather than talk to it.
    doc = yaml.safe_load(path.read_text())
    del doc["clusters"][0]["cluster"]["certificate-authority-data"]
    untrusted = tmp_path / "untrusted"
    untrusted.write_text(yaml.safe_dump(doc))
    refused = subprocess.run(
        [KUBECTL, "get", "nodes"],
        env={**env, "KUBECONFIG": str(untrusted)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "certificate signed by unknown authority" in refused.stderr


def test_official_client_over_tls(https_kubesim: RunningKubeSim, tmp_path: Path) -> None:
    api = config.new_client_from_config(config_file=str(https_kubesim.write_kubeconfig(tmp_path / "config")))
    try:
        nodes = client.CoreV1Api(api).list_node().items
    finally:
        api.close()
    assert nodes
    assert all(n.metadata.labels["kubernetes.io/hostname"] for n in nodes)


def test_localhost_is_in_the_certificate_and_plain_clients_need_the_ca(https_kubesim: RunningKubeSim) -> None:
    assert https_kubesim.ca_pem is not None
    context = ssl.create_default_context(cadata=https_kubesim.ca_pem.decode())
    by_name = https_kubesim.url.replace("127.0.0.1", "localhost")
    assert httpx.get(by_name + "/version", verify=context).json()["gitVersion"].startswith("v1.")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https_kubesim.url + "/version")
