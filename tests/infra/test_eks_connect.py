"""Clusters registered by EKS name: the bearer token follows the documented `aws eks get-token` scheme,
the connection reaches exactly the cluster DescribeCluster names (here: a kubesim, through a recording
proxy that sees the token), and anything less is a clear error — never the default kubeconfig."""

from __future__ import annotations

import base64
import datetime
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from podium_awsemu.runner import RunningEmulator
from podium_kubesim.runner import RunningKubeSim
from podium_shared.aws.eks_auth import CLUSTER_ID_HEADER, EksToken, presigned_token
from podium_shared.clusters.service import register_cluster
from podium_shared.db.session import unit_of_work
from podium_shared.errors import PodiumError
from podium_shared.kube.clients import clients_for, reset_cache
from podium_shared.settings import PodiumSettings
from support.tcp_proxy import TcpProxy
from worker.fixtures import Pipeline

from infra.helpers import REGION

TOKEN = re.compile(r"^k8s-aws-v1\.[A-Za-z0-9_-]+$")


class RecordingProxy(TcpProxy):
    """Forwards like TcpProxy and keeps every byte it saw, to check what reached the API server."""

    seen = b""

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self.seen += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            s.close()


def _ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


def _decode(token: str) -> str:
    body = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_token_follows_the_documented_scheme() -> None:
    # No endpoint override: the URL must name STS of the cluster's region, as `aws eks get-token` does.
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                       endpoint_url=f"https://sts.{REGION}.amazonaws.com")  # fmt: skip
    token = presigned_token(sts, "prod-gpu")
    assert TOKEN.match(token), token
    assert not token.endswith("=")
    url = urlsplit(_decode(token))
    assert (url.scheme, url.netloc, url.path) == ("https", f"sts.{REGION}.amazonaws.com", "/")
    query = parse_qs(url.query)
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-Credential"][0].endswith(f"/{REGION}/sts/aws4_request")
    assert CLUSTER_ID_HEADER in query["X-Amz-SignedHeaders"][0].split(";")
    assert "X-Amz-Signature" in query
    # The header is signed, never sent as a parameter.
    assert CLUSTER_ID_HEADER not in query


def test_token_is_refreshed_before_it_expires() -> None:
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                       endpoint_url=f"https://sts.{REGION}.amazonaws.com")  # fmt: skip
    signed: list[str] = []
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", lambda **_kw: signed.append("signed"))
    now = [1000.0]
    token = EksToken(sts, "prod-gpu", clock=lambda: now[0])
    assert TOKEN.match(token.get())
    now[0] += 30  # 30 s of 60 left: still good
    token.get()
    assert len(signed) == 1
    now[0] += 15  # 15 s left: inside the refresh margin, a new presigned URL
    assert TOKEN.match(token.get())
    assert len(signed) == 2


def test_the_presigned_request_is_what_sts_answers(aws_env: RunningEmulator) -> None:
    sts = boto3.client("sts", region_name=REGION)
    url = _decode(presigned_token(sts, "prod-gpu"))
    assert url.startswith(aws_env.url)
    r = httpx.get(url, headers={CLUSTER_ID_HEADER: "prod-gpu"}, timeout=10)
    assert r.status_code == 200, r.text
    assert "GetCallerIdentityResult" in r.text


@pytest.fixture(scope="module")
def proxy(kubesim: RunningKubeSim) -> Iterator[RecordingProxy]:
    p = RecordingProxy(kubesim.port)
    yield p
    p.close()


def _settings(pipeline: Pipeline, kubeconfig: Path | None) -> PodiumSettings:
    return pipeline.settings.model_copy(update={"kubeconfig": kubeconfig})


def test_a_cluster_registered_by_eks_name_reaches_that_cluster(
    pipeline: Pipeline, aws_env: RunningEmulator, proxy: RecordingProxy
) -> None:
    aws_env.seed(
        {
            "region": REGION,
            "eks_clusters": [
                {"name": "by-name", "endpoint": proxy.url, "ca_data": base64.b64encode(_ca_pem()).decode()}
            ],
        }
    )
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(session, "named", eks_cluster_name="by-name", region=REGION)
    reset_cache()
    clients = clients_for("named", settings=_settings(pipeline, None), sessions=pipeline.sessions)
    names = [n.metadata.name for n in clients.core.list_node().items]
    assert names  # kubesim's scenario nodes
    sent = proxy.seen.decode("latin-1")
    bearer = re.search(r"(?i)authorization: Bearer (\S+)", sent)
    assert bearer is not None
    assert TOKEN.match(bearer.group(1))
    assert "by-name" not in bearer.group(1)  # the id travels signed inside the URL
    assert f"{CLUSTER_ID_HEADER}" in _decode(bearer.group(1))


def test_a_missing_eks_cluster_is_a_clear_error_not_the_default_kubeconfig(
    pipeline: Pipeline, aws_env: RunningEmulator, sim_kubeconfig: Path
) -> None:
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(session, "ghost", eks_cluster_name="no-such-cluster", region=REGION)
    reset_cache()
    # A perfectly good default kubeconfig is configured; it must not be used for this cluster.
    with pytest.raises(PodiumError) as err:
        clients_for("ghost", settings=_settings(pipeline, sim_kubeconfig), sessions=pipeline.sessions)
    assert err.value.code == "aws_not_found"
    assert 'describe EKS cluster "no-such-cluster"' in err.value.message


def test_an_eks_cluster_without_a_usable_ca_is_refused(pipeline: Pipeline, aws_env: RunningEmulator) -> None:
    # moto's own CreateCluster makes up a CA that is not a certificate.
    boto3.client("eks", region_name=REGION).create_cluster(
        name="no-ca", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []}
    )
    with unit_of_work(pipeline.sessions) as session:
        register_cluster(session, "no-ca", eks_cluster_name="no-ca", region=REGION)
    with pytest.raises(PodiumError) as err:
        clients_for("no-ca", settings=_settings(pipeline, None), sessions=pipeline.sessions)
    assert err.value.code == "eks_no_ca"
