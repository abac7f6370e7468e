"""S3 storage behind S3 CSI volumes: found in the snapshot's PersistentVolumes (streamed by the real
watcher from kubesim), listed page by page through the API from the emulated S3, downloaded through a
presigned URL."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s
from podium_awsemu.runner import RunningEmulator
from podium_shared.auth.service import create_user
from podium_shared.db.session import unit_of_work
from podium_shared.models.user import Role
from support.waiting import wait_until
from worker.fixtures import Pipeline

from infra.helpers import InfraApi, boto

pytestmark = pytest.mark.usefixtures("watcher")

BUCKET = "podium-models-test"
OTHER_BUCKET = "team-b-data"


def _keys() -> list[str]:
    """2,500 keys under the volume's prefix `models/`, across prefixes of different depths."""
    keys = [f"models/a/{i:04d}.bin" for i in range(1000)]
    keys += [f"models/b/x/{i:04d}.json" for i in range(700)]
    keys += [f"models/b/y/deep/{i:04d}.txt" for i in range(300)]
    keys += [f"models/{i:04d}.top" for i in range(500)]
    return keys


def _pv(name: str, bucket: str, namespace: str, prefix: str | None) -> dict[str, Any]:
    options = ["allow-delete", "region us-west-2"] + ([f"prefix {prefix}"] if prefix else [])
    return {
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1200Gi"},
            "accessModes": ["ReadWriteMany"],
            "mountOptions": options,
            "claimRef": {"namespace": namespace, "name": f"{name}-claim"},
            "csi": {
                "driver": "s3.csi.aws.com",
                "volumeHandle": f"{name}-handle",
                "volumeAttributes": {"bucketName": bucket},
            },
        },
    }


@pytest.fixture(scope="module")
def volumes(emulator: RunningEmulator, kube: k8s.ApiClient) -> dict[str, str]:
    s3 = boto("s3", emulator.url)
    for bucket in (BUCKET, OTHER_BUCKET):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    keys = [*_keys(), "outside/not-mine.txt", "models-not-a-folder.txt"]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode()), keys))
    s3.put_object(Bucket=OTHER_BUCKET, Key="b.txt", Body=b"b")
    core = k8s.CoreV1Api(kube)
    core.create_persistent_volume(_pv("s3-models", BUCKET, "team-a", "models/"))
    core.create_persistent_volume(_pv("s3-team-b", OTHER_BUCKET, "team-b", None))
    ebs = {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}
    core.create_persistent_volume(
        {
            "metadata": {"name": "ebs-1"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "csi": ebs},
        }
    )
    return {"models": "s3-models", "team-b": "s3-team-b"}


def _storage(
    api: InfraApi, role: Role = Role.viewer, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = api.client.get("/api/v1/clusters/aws/storage", headers=headers or api.headers(role))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_volumes_come_from_the_snapshot(infra_api: InfraApi, volumes: dict[str, str]) -> None:
    body = wait_until(
        lambda: (b := _storage(infra_api)) and len(b["volumes"]) == 2 and b,
        30,
        "the watcher to stream the PVs",
    )
    by_pv = {v["pv"]: v for v in body["volumes"]}
    assert by_pv["s3-models"] == {
        "pv": "s3-models", "bucket": BUCKET, "prefix": "models/", "region": "us-west-2",
        "claim": "team-a/s3-models-claim", "phase": by_pv["s3-models"]["phase"], "capacity": "1200Gi",
    }  # fmt: skip
    assert by_pv["s3-team-b"]["prefix"] == ""


def test_2500_objects_listed_page_by_page_exactly_once(infra_api: InfraApi, volumes: dict[str, str]) -> None:
    wait_until(lambda: len(_storage(infra_api)["volumes"]) == 2, 30, "the watcher to stream the PVs")
    seen: Counter[str] = Counter()
    folders_seen: list[str] = []
    pending = [""]
    pages = 0
    while pending:
        prefix = pending.pop()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"prefix": prefix, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            r = infra_api.get(f"/clusters/aws/storage/{volumes['models']}/objects", **params)
            assert r.status_code == 200, r.text
            page = r.json()
            pages += 1
            assert len(page["folders"]) + len(page["objects"]) <= 100
            seen.update(o["key"] for o in page["objects"])
            for o in page["objects"]:
                assert o["size"] == len(("models/" + o["key"]).encode())
                assert o["last_modified"]
                assert o["storage_class"] == "STANDARD"
            folders_seen.extend(page["folders"])
            pending.extend(page["folders"])
            cursor = page["cursor"]
            if cursor is None:
                break
    expected = {k.removeprefix("models/") for k in _keys()}
    assert set(seen) == expected
    assert all(n == 1 for n in seen.values())
    assert sorted(folders_seen) == ["a/", "b/", "b/x/", "b/y/", "b/y/deep/"]
    assert pages >= 25


def test_download_url_is_presigned_and_short_lived(infra_api: InfraApi, volumes: dict[str, str]) -> None:
    wait_until(lambda: len(_storage(infra_api)["volumes"]) == 2, 30, "the watcher to stream the PVs")
    r = infra_api.get(f"/clusters/aws/storage/{volumes['models']}/objects/url", key="b/x/0007.json")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["expires_in_seconds"] == 300
    assert "X-Amz-Expires=300" in body["url"]
    assert "X-Amz-Signature=" in body["url"]
    got = httpx.get(body["url"], timeout=10)
    assert got.status_code == 200
    assert got.content == b"models/b/x/0007.json"
    missing = infra_api.get(f"/clusters/aws/storage/{volumes['models']}/objects/url", key="nope.bin")
    assert missing.status_code == 404, missing.text
    unknown = infra_api.get("/clusters/aws/storage/ebs-1/objects", prefix="")
    assert unknown.status_code == 404, unknown.text


def test_a_namespace_scoped_viewer_sees_only_its_volumes(
    pipeline: Pipeline, infra_api: InfraApi, volumes: dict[str, str]
) -> None:
    wait_until(lambda: len(_storage(infra_api)["volumes"]) == 2, 30, "the watcher to stream the PVs")
    with unit_of_work(pipeline.sessions) as session:
        _user, token = create_user(session, f"b-{uuid.uuid4().hex[:8]}", Role.viewer, ["team-b"])
    headers = {"Authorization": f"Bearer {token}"}
    assert [v["pv"] for v in _storage(infra_api, headers=headers)["volumes"]] == ["s3-team-b"]
    r = infra_api.client.get(f"/api/v1/clusters/aws/storage/{volumes['models']}/objects", headers=headers)
    assert r.status_code == 404
    r = infra_api.client.get(f"/api/v1/clusters/aws/storage/{volumes['team-b']}/objects", headers=headers)
    assert r.status_code == 200, r.text
    assert [o["key"] for o in r.json()["objects"]] == ["b.txt"]
    # Node groups are cluster-wide: not for a namespace-scoped user.
    assert infra_api.client.get("/api/v1/clusters/aws/nodegroups", headers=headers).status_code == 403
