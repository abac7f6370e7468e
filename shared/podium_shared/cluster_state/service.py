"""What the read API calls: authorisation and registry checks around the snapshot reads."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from podium_shared.auth.principal import Principal
from podium_shared.cluster_state.reads import ObjectPage, list_objects
from podium_shared.cluster_state.status import read_status_document
from podium_shared.clusters.service import get_cluster, list_clusters
from podium_shared.errors import Forbidden
from podium_shared.realtime.keys import meta_key


class ClusterSummary(BaseModel):
    name: str
    context: str | None
    eks_cluster_name: str | None
    region: str | None
    snapshot_age_seconds: float | None  # None: no watcher has streamed this cluster yet
    watched: bool


def clusters(session: Session, redis: Any) -> list[ClusterSummary]:
    rows = list_clusters(session)
    pipe = redis.pipeline(transaction=False)
    for row in rows:
        pipe.hget(meta_key(row.name), "fresh_at")
    fresh = pipe.execute()
    now = time.time()
    return [
        ClusterSummary(
            name=row.name,
            context=row.context,
            eks_cluster_name=row.eks_cluster_name,
            region=row.region,
            snapshot_age_seconds=None if f is None else max(0.0, now - float(f)),
            watched=f is not None,
        )
        for row, f in zip(rows, fresh, strict=True)
    ]


def status(session: Session, redis: Any, principal: Principal, cluster: str) -> dict[str, Any]:
    """The `ClusterStatus` document as plain JSON types (see `status.read_status_document`)."""
    get_cluster(session, cluster)
    # Node capacity and every namespace's GPU use are cluster-wide facts: only unscoped users see them.
    if not principal.can_access_namespace(None):
        raise Forbidden("cluster status covers every namespace; your access is limited to some namespaces")
    return read_status_document(redis, cluster)


def objects(
    session: Session,
    redis: Any,
    principal: Principal,
    cluster: str,
    kind: str,
    *,
    namespace: str | None,
    label_selector: str | None,
    field_selector: str | None,
    limit: int,
    continue_token: str | None,
) -> ObjectPage:
    get_cluster(session, cluster)
    if namespace is not None and not principal.can_access_namespace(namespace):
        raise Forbidden(f"you have no access to namespace {namespace!r}")
    return list_objects(
        redis, cluster, kind, namespace=namespace, label_selector=label_selector,
        field_selector=field_selector, limit=limit, continue_token=continue_token,
        can_see_namespace=principal.can_access_namespace,
    )  # fmt: skip
