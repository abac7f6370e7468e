"""Kubernetes clients per registered cluster, with a client-side rate limit.

One `ApiClient` per cluster per process (its urllib3 pool is thread-safe and reusing it keeps connections
warm). Every request of every API group goes through `rest_client.request`, so wrapping that one method
applies the token bucket (settings.kube_qps / kube_burst) and a default timeout to typed and generic calls
alike: a 5,000-item bulk cannot flood the API server, and a hung server cannot hang a worker forever."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from sqlalchemy.orm import Session, sessionmaker

from podium_shared.aws import sessions as aws_sessions
from podium_shared.aws.eks_auth import EksToken, describe_endpoint
from podium_shared.db.session import session_factory
from podium_shared.errors import NotFound, PodiumError
from podium_shared.models.cluster import Cluster
from podium_shared.settings import PodiumSettings


class TokenBucket:
    """Allows `burst` requests at once and `qps` per second sustained; `acquire` blocks until allowed."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = max(qps, 0.001)
        self.burst = max(burst, 1)
        self._tokens = float(self.burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.qps)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                wait = (1.0 - self._tokens) / self.qps
            # Sleeping here is the point of a rate limiter: it paces requests, it hides no race.
            time.sleep(wait)
            waited += wait


@dataclass
class ClusterClients:
    name: str
    api_client: k8s.ApiClient
    limiter: TokenBucket
    core: k8s.CoreV1Api = field(init=False)
    apps: k8s.AppsV1Api = field(init=False)
    batch: k8s.BatchV1Api = field(init=False)
    custom: k8s.CustomObjectsApi = field(init=False)
    coordination: k8s.CoordinationV1Api = field(init=False)

    def __post_init__(self) -> None:
        self.core = k8s.CoreV1Api(self.api_client)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.batch = k8s.BatchV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.coordination = k8s.CoordinationV1Api(self.api_client)

    def request(
        self,
        method: str,
        path: str,
        *,
        path_params: dict[str, str] | None = None,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """A generic JSON request for paths the typed APIs make awkward (any kind by its plural, server-side
        apply). Path parameters are URL-quoted by the client, so names never alter the path. Raises
        `ApiException` on a non-2xx answer, like the typed APIs."""
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        method_, url, header_params, body_, post_params = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            path_params=path_params,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(method_, url, header_params, body_, post_params)
        response.read()  # type: ignore[no-untyped-call]
        data = response.data or b""
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response, body=data.decode("utf-8", "replace"))
        return json.loads(data) if data else {}


_lock = threading.Lock()
_cache: dict[tuple[Any, ...], ClusterClients] = {}


def clients_for(
    cluster_name: str,
    *,
    settings: PodiumSettings,
    sessions: sessionmaker[Session] | None = None,
) -> ClusterClients:
    """The rate-limited clients of a registered cluster: through its kubeconfig (path and/or context), or
    — registered by EKS name and region only — through `eks:DescribeCluster` and an EKS token. A cluster
    registered by EKS name connects to that cluster or fails with a clear error; it never falls back to
    the process's default kubeconfig. The caller hands its settings in (the worker's ExecutionContext, the
    API's app.state)."""
    sessions = sessions or session_factory(settings.database_url)
    with sessions() as session:
        row = session.get(Cluster, cluster_name)
        if row is None:
            raise NotFound(f'cluster "{cluster_name}" is not registered', code="cluster_not_found")
        by_eks_name = row.eks_cluster_name is not None and row.kubeconfig_path is None and row.context is None
        eks = (row.eks_cluster_name, row.region, row.role_arn)
        kubeconfig = row.kubeconfig_path or (str(settings.kubeconfig) if settings.kubeconfig else None)
        context = row.context
    limits = (settings.kube_qps, settings.kube_burst)
    if by_eks_name:
        key: tuple[Any, ...] = (cluster_name, "eks", *eks, *limits)
    else:
        # The file's mtime is part of the key so a rewritten kubeconfig (new port, rotated token) is
        # picked up.
        mtime = Path(kubeconfig).stat().st_mtime if kubeconfig and Path(kubeconfig).exists() else 0.0
        key = (cluster_name, kubeconfig, context, mtime, *limits)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
    if by_eks_name:
        eks_name, region, role_arn = eks
        # The registry requires a region with an EKS name.
        assert eks_name is not None
        assert region is not None
        api_client = _eks_api_client(cluster_name, eks_name, region, role_arn, settings)
    else:
        api_client = _new_api_client(cluster_name, kubeconfig, context)
    limiter = TokenBucket(settings.kube_qps, settings.kube_burst)
    _instrument(api_client, limiter, settings.kube_request_timeout)
    clients = ClusterClients(cluster_name, api_client, limiter)
    with _lock:
        if key in _cache:  # another thread built it meanwhile; keep one
            api_client.close()  # type: ignore[no-untyped-call]
            return _cache[key]
        for old_key in [k for k in _cache if k[0] == cluster_name]:
            _cache.pop(old_key).api_client.close()  # type: ignore[no-untyped-call]
        _cache[key] = clients
        return clients


def _eks_api_client(
    name: str, eks_name: str, region: str, role_arn: str | None, settings: PodiumSettings
) -> k8s.ApiClient:
    return k8s.ApiClient(eks_configuration(eks_name, region, role_arn, settings))


def eks_configuration(
    eks_name: str, region: str, role_arn: str | None, settings: PodiumSettings
) -> k8s.Configuration:
    """A client configuration for the EKS cluster `eks_name`: its endpoint, verified against its CA, and
    a bearer token re-signed before every request that needs a fresh one (docs/infra.md)."""
    target = aws_sessions.AwsTarget(region=region, role_arn=role_arn)
    tuning = aws_sessions.AwsTuning.from_settings(settings)
    endpoint = describe_endpoint(aws_sessions.client("eks", target, tuning), eks_name)
    token = EksToken(aws_sessions.client("sts", target, tuning), eks_name)
    configuration = _configuration()
    configuration.host = endpoint.endpoint.rstrip("/")
    configuration.verify_ssl = True
    configuration.ssl_ca_cert = _ca_file(endpoint.ca_pem)
    configuration.api_key = {"authorization": token.get()}
    configuration.api_key_prefix = {"authorization": "Bearer"}

    def refresh(conf: k8s.Configuration) -> None:
        # Called before every request: a new presigned token before the current one expires.
        conf.api_key["authorization"] = token.get()

    configuration.refresh_api_key_hook = refresh  # type: ignore[assignment]
    return configuration


def _ca_file(ca_pem: bytes) -> str:
    """The CA in a file (the Kubernetes client takes a path), named by its hash so each is written once."""
    directory = Path(tempfile.gettempdir()) / f"podium-eks-ca-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / (hashlib.sha256(ca_pem).hexdigest()[:32] + ".pem")
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(ca_pem)
        tmp.replace(path)
    return str(path)


def _new_api_client(name: str, kubeconfig: str | None, context: str | None) -> k8s.ApiClient:
    try:
        if kubeconfig:
            api_client: k8s.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=_configuration()
            )
            return api_client
        configuration = _configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return k8s.ApiClient(configuration)
    except (k8s_config.ConfigException, OSError) as exc:
        raise PodiumError(
            f'cannot load the kubeconfig of cluster "{name}": {exc}', code="cluster_config", status=500
        ) from exc


def _configuration() -> k8s.Configuration:
    configuration = k8s.Configuration()
    # urllib3 keeps at most this many idle connections per host; the default (5 per CPU) is below a busy
    # worker's thread count, and every discarded connection costs a new TCP (and TLS) handshake.
    configuration.connection_pool_maxsize = 64
    return configuration


def _instrument(api_client: k8s.ApiClient, limiter: TokenBucket, timeout: tuple[float, float]) -> None:
    rest = api_client.rest_client
    original: Callable[..., Any] = rest.request

    @functools.wraps(original)
    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        limiter.acquire()
        if kwargs.get("_request_timeout") is None:
            kwargs["_request_timeout"] = timeout
        return original(method, url, *args, **kwargs)

    rest.request = request  # type: ignore[method-assign]  # the one choke point of every request


def warm_up() -> None:
    """Import the client's API classes now. The package loads them lazily on first attribute access, which
    costs seconds (CoreV1Api alone is a very large module) and would otherwise land inside the first
    operation's lease."""
    for name in ("CoreV1Api", "AppsV1Api", "BatchV1Api", "CustomObjectsApi", "CoordinationV1Api",
                 "V1Deployment", "V1Scale", "V1Pod"):  # fmt: skip
        getattr(k8s, name)


def reset_cache() -> None:
    """Forget every client (tests that restart a simulated cluster on a new port)."""
    with _lock:
        for clients in _cache.values():
            clients.api_client.close()  # type: ignore[no-untyped-call]
        _cache.clear()
