"""Reaching an EKS cluster by name: its API endpoint and CA from `eks:DescribeCluster`, and a bearer token
built the way `aws eks get-token` (and aws-iam-authenticator) builds it — no subprocess, no kubeconfig.

The token is a presigned STS `GetCallerIdentity` GET request, signed with the `x-k8s-aws-id: <cluster>`
header (so it is valid for that cluster only), base64url-encoded without padding, after `k8s-aws-v1.`.
The API server's authenticator replays the URL against STS to learn who we are. The presigned URL lives
60 seconds; `EksToken` hands out a new one before the old one has less than REFRESH_MARGIN left."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium_shared.aws.errors import aws_call
from podium_shared.errors import PodiumError

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - the scheme's name, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
PRESIGN_SECONDS = 60
REFRESH_MARGIN = 20.0


@dataclass(frozen=True)
class EksEndpoint:
    endpoint: str
    ca_pem: bytes
    status: str


def describe_endpoint(eks: Any, cluster_name: str) -> EksEndpoint:
    """The API server URL and CA of `cluster_name`; a clear error if it is not ACTIVE or has neither."""
    with aws_call(f'describe EKS cluster "{cluster_name}"'):
        cluster = eks.describe_cluster(name=cluster_name)["cluster"]
    status = str(cluster.get("status") or "")
    endpoint = str(cluster.get("endpoint") or "")
    ca_data = str((cluster.get("certificateAuthority") or {}).get("data") or "")
    if status and status != "ACTIVE":
        raise PodiumError(
            f'EKS cluster "{cluster_name}" is {status}, not ACTIVE; it cannot be reached yet',
            code="eks_not_active",
            status=502,
        )
    if not endpoint.startswith(("https://", "http://")):
        raise PodiumError(
            f'EKS cluster "{cluster_name}" has no API endpoint', code="eks_no_endpoint", status=502
        )
    try:
        ca_pem = base64.b64decode(ca_data, validate=True)
    except (binascii.Error, ValueError):
        ca_pem = b""
    if b"-----BEGIN CERTIFICATE-----" not in ca_pem:
        raise PodiumError(
            f'EKS cluster "{cluster_name}" reported no usable certificate authority; refusing to connect'
            " without verifying its API server",
            code="eks_no_ca",
            status=502,
        )
    return EksEndpoint(endpoint=endpoint, ca_pem=ca_pem, status=status)


def presigned_token(sts: Any, cluster_name: str) -> str:
    """`k8s-aws-v1.` + base64url(presigned GetCallerIdentity URL), no padding."""

    def keep_cluster_id(params: dict[str, Any], context: dict[str, Any], **_kwargs: Any) -> None:
        # The header is not an API parameter: move it out of the params before validation.
        if CLUSTER_ID_HEADER in params:
            context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)

    def sign_cluster_id(request: Any, **_kwargs: Any) -> None:
        if CLUSTER_ID_HEADER in request.context:
            request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]

    events = sts.meta.events
    events.register(
        "provide-client-params.sts.GetCallerIdentity", keep_cluster_id, unique_id="podium-k8s-id-p"
    )
    events.register("before-sign.sts.GetCallerIdentity", sign_cluster_id, unique_id="podium-k8s-id-s")
    with aws_call(f'sign an EKS token for cluster "{cluster_name}"'):
        url = sts.generate_presigned_url(
            "get_caller_identity",
            Params={CLUSTER_ID_HEADER: cluster_name},
            ExpiresIn=PRESIGN_SECONDS,
            HttpMethod="GET",
        )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


class EksToken:
    """A bearer token for one cluster, re-signed before it expires (thread-safe)."""

    def __init__(self, sts: Any, cluster_name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._sts = sts
        self._clock = clock
        self._cluster = cluster_name
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0

    def get(self) -> str:
        with self._lock:
            now = self._clock()
            if now > self._expires - REFRESH_MARGIN:
                self._token = presigned_token(self._sts, self._cluster)
                self._expires = now + PRESIGN_SECONDS
            return self._token
