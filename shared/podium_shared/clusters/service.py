"""The cluster registry: which clusters Podium manages and how to reach them. Live status is the
watcher's business (`podium_shared.cluster_state`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from podium_shared.audit.service import record_request
from podium_shared.auth.cache import TTL_SECONDS, bump_epoch
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.clusters.schemas import ClusterCreate
from podium_shared.db.session import after_commit, transaction_scoped
from podium_shared.errors import Conflict, NotFound
from podium_shared.models.cluster import Cluster
from podium_shared.models.operation import Operation, OperationStatus

_KNOWN = "podium.clusters.known"
# A Core statement on the table: no ORM load, no autoflush of what the transaction has pending.
_EXISTS = select(Cluster.__table__.c.name).where(Cluster.__table__.c.name == bindparam("name"))


def register_cluster(
    session: Session,
    name: str,
    kubeconfig_path: str | None = None,
    context: str | None = None,
    *,
    eks_cluster_name: str | None = None,
    region: str | None = None,
    hyperpod_cluster_name: str | None = None,
    role_arn: str | None = None,
    mlflow_tracking_uri: str | None = None,
) -> Cluster:
    """Create the registry entry (validated like the API's body); 409 if the name is taken."""
    body = ClusterCreate(
        name=name,
        kubeconfig_path=kubeconfig_path,
        context=context,
        eks_cluster_name=eks_cluster_name,
        region=region,
        hyperpod_cluster_name=hyperpod_cluster_name,
        role_arn=role_arn,
        mlflow_tracking_uri=mlflow_tracking_uri,
    )
    if session.get(Cluster, body.name) is not None:
        raise Conflict(f"cluster {name!r} is already registered", code="cluster_exists")
    cluster = Cluster(**body.model_dump())
    session.add(cluster)
    session.flush()
    return cluster


def get_cluster(session: Session, name: str) -> Cluster:
    cluster = session.get(Cluster, name)
    if cluster is None:
        raise NotFound(f"no cluster {name!r} is registered", code="unknown_cluster")
    return cluster


def require_cluster(
    session: Session, name: str, *, known: KnownClusters | None = None, epoch: bytes | None = None
) -> None:
    """`get_cluster` for a caller that needs only to know the cluster is registered: one indexed read
    without loading the row, asked once per transaction (a group commit checks dozens of commands), and
    not at all while `known` has seen the cluster under the same auth `epoch` (the API's accept path)."""
    if known is not None and epoch is not None and known.seen(name, epoch):
        return
    in_transaction: set[str] = transaction_scoped(session, _KNOWN, set)[0]
    if name in in_transaction:
        return
    if session.execute(_EXISTS, {"name": name}).first() is None:
        raise NotFound(f"no cluster {name!r} is registered", code="unknown_cluster")
    in_transaction.add(name)
    if known is not None and epoch is not None:
        known.add(name, epoch)


class KnownClusters:
    """Per process: the clusters a read found registered, each answer good while the auth epoch it was read
    under has not moved (`auth.cache`: `delete` bumps it after its commit, so every process asks again) and
    for at most `TTL_SECONDS` (a row deleted outside Podium). The accept path's cluster read was one of the
    six round trips of each group commit (docs/performance-accept.md, "Fourth pass"). Only registered clusters
    are kept: an unknown name is asked every time, and one registered since is found by that read."""

    def __init__(self, ttl_seconds: float = TTL_SECONDS, max_entries: int = 1_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._seen: dict[str, tuple[bytes, float]] = {}

    def seen(self, name: str, epoch: bytes) -> bool:
        entry = self._seen.get(name)
        return entry is not None and entry[0] == epoch and time.monotonic() - entry[1] <= self._ttl

    def add(self, name: str, epoch: bytes) -> None:
        # `epoch` was read before the cluster's row was: a delete committed in between moved it already.
        if len(self._seen) >= self._max:
            self._seen.clear()  # a process sees a handful of clusters; this only bounds the memory
        self._seen[name] = (epoch, time.monotonic())


def list_clusters(session: Session) -> Sequence[Cluster]:
    return session.scalars(select(Cluster).order_by(Cluster.name)).all()


def create(session: Session, principal: Principal, meta: RequestMeta, body: ClusterCreate) -> Cluster:
    cluster = register_cluster(session, **body.model_dump())
    _audit(
        session, principal, meta, "cluster.register", cluster.name, details=body.model_dump(exclude={"name"})
    )
    return cluster


def delete(session: Session, principal: Principal, meta: RequestMeta, name: str) -> None:
    cluster = get_cluster(session, name)
    unfinished = session.scalar(
        select(
            exists().where(
                Operation.cluster == name,
                Operation.status.in_([OperationStatus.queued, OperationStatus.running]),
            )
        )
    )
    if unfinished:
        raise Conflict(
            f"cluster {name!r} has queued or running operations; cancel them or wait",
            code="cluster_busy",
        )
    session.delete(cluster)
    session.flush()
    # Every process's `KnownClusters` asks the database again from the next command on.
    after_commit(session, bump_epoch)
    _audit(session, principal, meta, "cluster.delete", name)


def _audit(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    action: str,
    name: str,
    *,
    details: dict[str, object] | None = None,
) -> None:
    record_request(
        session,
        principal,
        meta,
        action=action,
        cluster=name,
        resource_kind="cluster",
        resource_name=name,
        details=details or {},
    )
