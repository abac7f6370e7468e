"""The watcher's Kubernetes client: the official client, configured from a kubeconfig and context.

Separate from the workers' rate-limited command clients: watches are long-lived connections, one per
kind, so the connection pool must hold all of them (urllib3 would otherwise discard and warn)."""

from __future__ import annotations

from pathlib import Path

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration

from podium_shared.errors import Invalid
from podium_shared.kube.clients import eks_configuration
from podium_shared.settings import PodiumSettings

POOL_SIZE = 32


def api_client_from_kubeconfig(
    path: str | Path | None, context: str | None, pool_size: int = POOL_SIZE
) -> ApiClient:
    if path is None:
        raise Invalid("the cluster has no kubeconfig path and no default KUBECONFIG is set")
    cfg = Configuration()
    kube_config.load_kube_config(config_file=str(path), context=context, client_configuration=cfg)  # type: ignore[no-untyped-call]
    cfg.connection_pool_maxsize = pool_size
    return ApiClient(cfg)


def api_client_for_eks(
    eks_name: str, region: str, role_arn: str | None, settings: PodiumSettings, pool_size: int = POOL_SIZE
) -> ApiClient:
    """A cluster registered by EKS name: that cluster's endpoint and token, never the default kubeconfig."""
    cfg = eks_configuration(eks_name, region, role_arn, settings)
    cfg.connection_pool_maxsize = pool_size
    return ApiClient(cfg)
