"""First-run setup shared by `podium up` and `podium bootstrap` (compose, the Kubernetes Job): register a
cluster and create the first admin. Both steps are idempotent, so every start may run them."""

from __future__ import annotations

# ruff: noqa: PLC0415 - the model and service imports load SQLAlchemy; `podium --help` should not.
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EksRef:
    """A cluster reached by EKS name and region (endpoint, CA and token from AWS), with its HyperPod."""

    name: str
    region: str
    hyperpod_cluster: str | None = None


def prepare(
    database_url: str,
    *,
    admin_username: str = "admin",
    admin_token: str | None = None,
    admin_password: str | None = None,
    cluster: str | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    eks: EksRef | None = None,
) -> str | None:
    """Returns the admin token when this call created the admin, else None. `admin_password` becomes
    the new admin's console password."""
    from podium_shared.db.session import session_factory, unit_of_work
    from podium_shared.users.service import bootstrap_admin

    with unit_of_work(session_factory(database_url)) as session:
        if cluster:
            register_cluster(session, cluster, kubeconfig, context, eks)
        return bootstrap_admin(session, admin_username, admin_token, admin_password)


def prepare_from_settings(
    database_url: str,
    *,
    cluster: str | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    admin_password: str | None = None,
    eks: EksRef | None = None,
) -> str | None:
    """`prepare` with the first admin's name, token and password from the settings
    (PODIUM_BOOTSTRAP_ADMIN_*); an `admin_password` given here wins over the setting."""
    from podium_shared.settings import get_settings

    settings = get_settings()
    token = settings.bootstrap_admin_token.get_secret_value() if settings.bootstrap_admin_token else None
    if admin_password is None and settings.bootstrap_admin_password is not None:
        admin_password = settings.bootstrap_admin_password.get_secret_value()
    return prepare(database_url, admin_username=settings.bootstrap_admin_username, admin_token=token,
                   admin_password=admin_password, cluster=cluster, kubeconfig=kubeconfig,
                   context=context, eks=eks)  # fmt: skip


def ensure_admin_password(database_url: str, password: str) -> tuple[str, bool]:
    """The bootstrap admin's name, and whether `password` is their console password now (set here if
    they had none: an admin created before console passwords existed)."""
    from podium_shared.auth.service import ensure_password
    from podium_shared.db.session import session_factory, unit_of_work
    from podium_shared.settings import get_settings

    username = get_settings().bootstrap_admin_username
    with unit_of_work(session_factory(database_url)) as session:
        return username, ensure_password(session, username, password)


def register_cluster(
    session: Any, name: str, kubeconfig: Path | None, context: str | None, eks: EksRef | None = None
) -> None:
    """First run: registers the cluster (by kubeconfig, or by EKS name with `eks` and no kubeconfig).
    Later runs: re-points it if how it is reached changed."""
    from podium_shared.audit.service import record
    from podium_shared.clusters.service import register_cluster as register
    from podium_shared.models.cluster import Cluster

    path = str(kubeconfig) if kubeconfig else None
    aws = (eks.name, eks.region, eks.hyperpod_cluster) if eks is not None else (None, None, None)
    existing = session.get(Cluster, name)
    if existing is None:
        register(
            session, name, path, context, eks_cluster_name=aws[0], region=aws[1], hyperpod_cluster_name=aws[2]
        )
        return
    where = (existing.kubeconfig_path, existing.context, existing.eks_cluster_name, existing.region,
             existing.hyperpod_cluster_name)  # fmt: skip
    if where == (path, context, *aws):
        return
    existing.kubeconfig_path, existing.context = path, context
    existing.eks_cluster_name, existing.region, existing.hyperpod_cluster_name = aws
    session.flush()
    record(
        session,
        actor="system",
        action="cluster.update",
        outcome="succeeded",
        cluster=name,
        resource_kind="cluster",
        resource_name=name,
        details={
            "kubeconfig_path": path,
            "context": context,
            "eks_cluster_name": aws[0],
            "region": aws[1],
            "hyperpod_cluster_name": aws[2],
        },
    )


def write_private(path: Path, value: str) -> None:
    """Writes a secret readable by its owner only (0600 from the moment the file exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)


def heartbeat_alive(redis_url: str, component: str, hostname: str) -> bool:
    """True when a fresh heartbeat of `component` on this host exists (keys expire after 30 s).
    An unreachable Redis counts as not alive: the process cannot do its work without it either."""
    from podium_shared.realtime.keys import heartbeat_prefix
    from redis import Redis, RedisError

    pattern = f"{heartbeat_prefix(component)}{_glob_escape(hostname)}-*"
    try:
        with Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3) as redis:
            return any(True for _ in redis.scan_iter(match=pattern, count=1000))
    except RedisError:
        return False


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
