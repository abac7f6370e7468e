"""The S3 buckets behind a cluster's S3 CSI volumes (Mountpoint for Amazon S3, driver `s3.csi.aws.com`):
found in the snapshot's PersistentVolumes, browsed with ListObjectsV2 ("folders" are the common prefixes
with delimiter `/`), downloaded through short-lived presigned URLs. Read-only."""

from __future__ import annotations

from typing import Any

from podium_shared.aws.errors import aws_call
from podium_shared.errors import Invalid, NotFound
from podium_shared.infra.schemas import ObjectListing, S3Object, Volume

S3_CSI_DRIVER = "s3.csi.aws.com"
MAX_KEYS = 1000


def _mount_option(options: list[str], name: str) -> str | None:
    """Mountpoint options come as "prefix models/" or "prefix=models/" (with or without leading --)."""
    for raw in options:
        for option in raw.split(","):
            text = option.strip().lstrip("-")
            for sep in (" ", "="):
                key, found, value = text.partition(sep)
                if found and key == name and value.strip():
                    return value.strip()
    return None


def volumes(pvs: list[dict[str, Any]]) -> list[Volume]:
    out = []
    for pv in pvs:
        spec = pv.get("spec") or {}
        csi = spec.get("csi") or {}
        if csi.get("driver") != S3_CSI_DRIVER:
            continue
        bucket = (csi.get("volumeAttributes") or {}).get("bucketName")
        if not bucket:
            continue
        options = list(spec.get("mountOptions") or [])
        prefix = _mount_option(options, "prefix") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        claim = spec.get("claimRef") or {}
        out.append(
            Volume(
                pv=(pv.get("metadata") or {}).get("name", ""),
                bucket=str(bucket),
                prefix=prefix,
                region=_mount_option(options, "region"),
                claim=f"{claim.get('namespace')}/{claim.get('name')}" if claim.get("name") else None,
                phase=(pv.get("status") or {}).get("phase"),
                capacity=(spec.get("capacity") or {}).get("storage"),
            )
        )
    return sorted(out, key=lambda v: v.pv)


def find(vols: list[Volume], pv: str) -> Volume:
    for v in vols:
        if v.pv == pv:
            return v
    raise NotFound(f'no S3 CSI volume "{pv}" in this cluster', code="volume_not_found")


def list_objects(
    s3: Any, cluster: str, vol: Volume, *, prefix: str, cursor: str | None, limit: int
) -> ObjectListing:
    if not 1 <= limit <= MAX_KEYS:
        raise Invalid(f"limit must be between 1 and {MAX_KEYS}")
    request: dict[str, Any] = {
        "Bucket": vol.bucket,
        "Prefix": vol.prefix + prefix,
        "Delimiter": "/",
        "MaxKeys": limit,
    }
    if cursor:
        request["ContinuationToken"] = cursor
    with aws_call(f's3 list "{vol.bucket}/{vol.prefix + prefix}"'):
        page = s3.list_objects_v2(**request)
    strip = len(vol.prefix)
    return ObjectListing(
        cluster=cluster,
        pv=vol.pv,
        bucket=vol.bucket,
        prefix=prefix,
        folders=[str(p["Prefix"])[strip:] for p in page.get("CommonPrefixes") or []],
        objects=[
            S3Object(
                key=str(o["Key"])[strip:],
                size=int(o.get("Size") or 0),
                last_modified=o.get("LastModified"),
                storage_class=o.get("StorageClass"),
            )
            for o in page.get("Contents") or []
        ],
        cursor=page.get("NextContinuationToken") if page.get("IsTruncated") else None,
    )


def presign(s3: Any, vol: Volume, key: str, seconds: int) -> str:
    if not key or key.endswith("/"):
        raise Invalid("key must name an object, not a folder")
    with aws_call(f's3 sign a download of "{vol.bucket}/{vol.prefix + key}"'):
        # HeadObject first: a URL for a key that does not exist would only fail in the user's browser.
        s3.head_object(Bucket=vol.bucket, Key=vol.prefix + key)
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": vol.bucket, "Key": vol.prefix + key}, ExpiresIn=seconds
        )
    return str(url)
