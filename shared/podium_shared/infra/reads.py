"""What the infrastructure routers call: authorisation, the registry's AWS coordinates, one AWS read
joined to the watcher's snapshot. Node groups and instance groups are cluster-wide facts (only users
without a namespace restriction see them); an S3 volume is visible to whoever may see its claim's
namespace. Every role (viewer and up) may read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from podium_shared.auth.principal import Principal
from podium_shared.cluster_state.status import read_cluster_status
from podium_shared.clusters.service import get_cluster
from podium_shared.errors import Forbidden
from podium_shared.infra import hyperpod, nodegroups, storage
from podium_shared.infra.access import ClusterAws, cluster_aws
from podium_shared.infra.schemas import (
    DownloadUrl,
    HyperpodOut,
    NodegroupList,
    ObjectListing,
    StorageList,
    Volume,
)
from podium_shared.realtime.state import read_objects, snapshot_age
from podium_shared.settings import PodiumSettings


def _cluster_wide(principal: Principal, what: str) -> None:
    if not principal.can_access_namespace(None):
        raise Forbidden(f"{what} are cluster-wide; your access is limited to some namespaces")


def _aws(session: Session, cluster: str, settings: PodiumSettings) -> ClusterAws:
    aws = cluster_aws(session, cluster, settings)
    # The registry row is all we needed from the database; AWS calls can take seconds.
    session.close()
    return aws


def list_nodegroups(
    session: Session, redis: Any, principal: Principal, cluster: str, settings: PodiumSettings
) -> NodegroupList:
    _cluster_wide(principal, "node groups")
    aws = _aws(session, cluster, settings)
    eks_name = aws.eks_name()
    status = read_cluster_status(redis, cluster)
    groups = nodegroups.list_nodegroups(aws.client("eks"), eks_name, status.nodes)
    return NodegroupList(
        cluster=cluster, eks_cluster_name=eks_name, region=str(aws.region), nodegroups=groups,
        snapshot_age_seconds=status.snapshot_age_seconds,
    )  # fmt: skip


def hyperpod_overview(
    session: Session, redis: Any, principal: Principal, cluster: str, settings: PodiumSettings
) -> HyperpodOut:
    _cluster_wide(principal, "HyperPod instance groups")
    aws = _aws(session, cluster, settings)
    name = aws.hyperpod_name()
    status = read_cluster_status(redis, cluster)
    described, groups, unmatched = hyperpod.overview(aws.client("sagemaker"), name, status.nodes)
    return HyperpodOut(
        cluster=cluster,
        hyperpod_cluster_name=name,
        region=str(aws.region),
        status=str(described.get("ClusterStatus") or ""),
        failure_message=described.get("FailureMessage") or None,
        instance_groups=groups,
        unmatched_kube_nodes=unmatched,
        snapshot_age_seconds=status.snapshot_age_seconds,
    )


def _visible_volumes(redis: Any, principal: Principal, cluster: str) -> list[Volume]:
    vols = storage.volumes(read_objects(redis, cluster, "persistentvolumes"))
    if principal.can_access_namespace(None):
        return vols
    return [v for v in vols if v.claim and principal.can_access_namespace(v.claim.split("/", 1)[0])]


def list_storage(session: Session, redis: Any, principal: Principal, cluster: str) -> StorageList:
    get_cluster(session, cluster)
    return StorageList(
        cluster=cluster,
        volumes=_visible_volumes(redis, principal, cluster),
        snapshot_age_seconds=snapshot_age(redis, cluster),
    )


def list_objects(
    session: Session,
    redis: Any,
    principal: Principal,
    cluster: str,
    settings: PodiumSettings,
    *,
    pv: str,
    prefix: str,
    cursor: str | None,
    limit: int,
) -> ObjectListing:
    aws = _aws(session, cluster, settings)
    vol = storage.find(_visible_volumes(redis, principal, cluster), pv)
    return storage.list_objects(_s3(aws, vol), cluster, vol, prefix=prefix, cursor=cursor, limit=limit)


def download_url(
    session: Session,
    redis: Any,
    principal: Principal,
    cluster: str,
    settings: PodiumSettings,
    *,
    pv: str,
    key: str,
) -> DownloadUrl:
    aws = _aws(session, cluster, settings)
    vol = storage.find(_visible_volumes(redis, principal, cluster), pv)
    url = storage.presign(_s3(aws, vol), vol, key, settings.s3_presign_seconds)
    return DownloadUrl(
        cluster=cluster, pv=pv, key=key, url=url, expires_in_seconds=settings.s3_presign_seconds
    )


def _s3(aws: ClusterAws, vol: Volume) -> Any:
    # A bucket in another region than the cluster is named by the volume's `region` mount option.
    if vol.region and vol.region != aws.region:
        return replace(aws, region=vol.region).client("s3")
    return aws.client("s3")
