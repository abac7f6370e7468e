"""AWS infrastructure reads: EKS node groups, HyperPod instance groups, S3 storage. Changes are command
kinds on `POST /api/v1/commands` (scale_nodegroup, create_nodegroup, delete_nodegroup,
scale_instance_group, add_instance_group)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from podium_shared.infra import reads
from podium_shared.infra.schemas import DownloadUrl, HyperpodOut, NodegroupList, ObjectListing, StorageList

from podium_api.deps import RedisDep, SessionDep, SettingsDep, ViewerDep

router = APIRouter(tags=["infrastructure"])


@router.get("/clusters/{cluster}/nodegroups")
def nodegroups(
    cluster: str, session: SessionDep, redis: RedisDep, settings: SettingsDep, principal: ViewerDep
) -> NodegroupList:
    """The EKS node groups with their Kubernetes nodes and GPU numbers (from the snapshot)."""
    return reads.list_nodegroups(session, redis, principal, cluster, settings)


@router.get("/clusters/{cluster}/hyperpod")
def hyperpod(
    cluster: str, session: SessionDep, redis: RedisDep, settings: SettingsDep, principal: ViewerDep
) -> HyperpodOut:
    """The HyperPod cluster: status, instance groups, nodes joined to the Kubernetes nodes."""
    return reads.hyperpod_overview(session, redis, principal, cluster, settings)


@router.get("/clusters/{cluster}/storage")
def storage(cluster: str, session: SessionDep, redis: RedisDep, principal: ViewerDep) -> StorageList:
    """The S3 buckets behind the cluster's S3 CSI PersistentVolumes."""
    return reads.list_storage(session, redis, principal, cluster)


@router.get("/clusters/{cluster}/storage/{pv}/objects")
def objects(
    *,
    cluster: str,
    pv: str,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: ViewerDep,
    prefix: Annotated[str, Query(max_length=1024)] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ObjectListing:
    """Folders (common prefixes, delimiter `/`) and objects under `prefix`, one page; pass `cursor` on."""
    return reads.list_objects(
        session, redis, principal, cluster, settings, pv=pv, prefix=prefix, cursor=cursor, limit=limit
    )


@router.get("/clusters/{cluster}/storage/{pv}/objects/url")
def object_url(
    *,
    cluster: str,
    pv: str,
    key: Annotated[str, Query(min_length=1, max_length=1024)],
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: ViewerDep,
) -> DownloadUrl:
    """A short-lived presigned download URL for one object."""
    return reads.download_url(session, redis, principal, cluster, settings, pv=pv, key=key)
