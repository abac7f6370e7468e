"""AWS infrastructure figures through Podium's API (embedded Postgres and Redis, emulated AWS over HTTP:
moto server + podium_awsemu). Prints numbers; asserts nothing.

    .venv/bin/python bench/infra.py [--nodegroups 50] [--instance-groups 20] [--keys 100000] [--rounds 30]

1. GET /clusters/{c}/nodegroups with N node groups (ListNodegroups + N DescribeNodegroup, a few at a time):
   p50 / p99 over the rounds.
2. GET /clusters/{c}/hyperpod with M instance groups (DescribeCluster + ListClusterNodes): p50 / p99.
3. S3: a bucket of K keys behind an S3 CSI volume; time per page (1,000 keys) and for the full walk,
   through Podium's API and with boto3 straight to the emulator, in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from fastapi.testclient import TestClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_awsemu.runner import RunningEmulator
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis
from podium_shared.models.user import Role
from podium_shared.realtime.leader import LeaderLock
from podium_shared.realtime.state import StateWriter
from redis import Redis

REGION = "us-west-2"
BUCKET = "bench-bucket"
EXEC_ROLE = "arn:aws:iam::123456789012:role/bench-exec"


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _seed(n_groups: int, n_instance_groups: int) -> dict[str, Any]:
    types = ["ml.g5.12xlarge", "ml.p4d.24xlarge", "ml.c5.2xlarge", "ml.m5.xlarge"]
    return {
        "region": REGION,
        "eks_clusters": [
            {
                "name": "bench",
                "nodegroups": [
                    {
                        "name": f"ng-{i:02d}",
                        "instance_types": ["g5.2xlarge"],
                        "min": 0,
                        "max": 10,
                        "desired": 2,
                    }
                    for i in range(n_groups)
                ],
            }
        ],
        "hyperpod_clusters": [
            {
                "name": "bench-hp",
                "instance_groups": [
                    {
                        "name": f"ig-{i:02d}",
                        "instance_type": types[i % len(types)],
                        "count": 2,
                        "execution_role": EXEC_ROLE,
                    }
                    for i in range(n_instance_groups)
                ],
            }
        ],
    }


def _snapshot(redis_url: str, n_groups: int) -> None:
    """Two GPU nodes per node group in the snapshot, as the watcher would have written them."""
    redis = Redis.from_url(redis_url)
    token = LeaderLock(redis, "bench", "bench", ttl_seconds=600).try_acquire()
    assert token
    gpu = {"nvidia.com/gpu": "1"}
    nodes = [
        {
            "kind": "Node",
            "metadata": {
                "name": f"ip-{g}-{j}",
                "resourceVersion": "1",
                "uid": f"u-{g}-{j}",
                "labels": {"eks.amazonaws.com/nodegroup": f"ng-{g:02d}"},
            },
            "status": {
                "capacity": gpu,
                "allocatable": gpu,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
        for g in range(n_groups)
        for j in range(2)
    ]
    writer = StateWriter(redis, "bench", token)
    writer.write(writer.replace("nodes", nodes) + writer.replace("persistentvolumes", [_pv()]))
    writer.touch()
    redis.close()


def _pv() -> dict[str, Any]:
    return {
        "kind": "PersistentVolume",
        "metadata": {"name": "bench-s3", "resourceVersion": "1", "uid": "u-pv"},
        "spec": {
            "csi": {
                "driver": "s3.csi.aws.com",
                "volumeHandle": "h",
                "volumeAttributes": {"bucketName": BUCKET},
            },
            "mountOptions": ["region us-west-2"],
        },
    }


def _timed(rounds: int, call: Any) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def _walk_api(client: TestClient, headers: dict[str, str]) -> tuple[int, list[float]]:
    keys, pages = 0, []
    pending = [""]
    while pending:
        prefix = pending.pop()
        cursor = None
        while True:
            params: dict[str, Any] = {"prefix": prefix, "limit": 1000} | (
                {"cursor": cursor} if cursor else {}
            )
            start = time.perf_counter()
            r = client.get("/api/v1/clusters/bench/storage/bench-s3/objects", params=params, headers=headers)
            pages.append(time.perf_counter() - start)
            r.raise_for_status()
            page = r.json()
            keys += len(page["objects"])
            pending.extend(page["folders"])
            cursor = page["cursor"]
            if not cursor:
                break
    return keys, pages


def _walk_boto(s3: Any) -> tuple[int, list[float]]:
    keys, pages = 0, []
    pending = [""]
    while pending:
        prefix = pending.pop()
        token = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": BUCKET, "Prefix": prefix, "Delimiter": "/", "MaxKeys": 1000}
            if token:
                kwargs["ContinuationToken"] = token
            start = time.perf_counter()
            page = s3.list_objects_v2(**kwargs)
            pages.append(time.perf_counter() - start)
            keys += len(page.get("Contents") or [])
            pending.extend(p["Prefix"] for p in page.get("CommonPrefixes") or [])
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                break
    return keys, pages


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodegroups", type=int, default=50)
    parser.add_argument("--instance-groups", type=int, default=20)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--prefixes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    seed = _seed(args.nodegroups, args.instance_groups)
    with (
        tempfile.TemporaryDirectory(prefix="bench-infra-") as tmp,
        RunningEmulator(speed=1000, seed=seed) as emu,
    ):
        postgres = EmbeddedPostgres(Path(tmp) / "pg").start()
        redis_server = EmbeddedRedis(Path(tmp) / "redis").start()
        try:
            os.environ.update(
                AWS_ENDPOINT_URL=emu.url,
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
                AWS_DEFAULT_REGION=REGION,
            )
            upgrade(postgres.url)
            settings = ApiSettings(
                database_url=postgres.url,
                redis_url=redis_server.url,
                environment="test",
                rate_limit_per_second=1e6,
                rate_limit_burst=1_000_000,
            )
            sessions = session_factory(postgres.url)
            with unit_of_work(sessions) as session:
                register_cluster(
                    session,
                    "bench",
                    eks_cluster_name="bench",
                    region=REGION,
                    hyperpod_cluster_name="bench-hp",
                    kubeconfig_path="/nonexistent",
                )
                _user, token = create_user(session, f"bench-{uuid.uuid4().hex[:6]}", Role.viewer)
            headers = {"Authorization": f"Bearer {token}"}
            _snapshot(redis_server.url, args.nodegroups)
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
            start = time.perf_counter()
            emu.admin.post(
                "/_emu/s3/fill",
                json={"bucket": BUCKET, "keys": args.keys, "prefixes": args.prefixes},
                timeout=600,
            ).raise_for_status()
            print(f"filled {args.keys} keys in {time.perf_counter() - start:.1f} s (inside the emulator)")

            with TestClient(create_app(settings)) as client:

                def get(path: str) -> None:
                    client.get(path, headers=headers).raise_for_status()

                get("/api/v1/clusters/bench/nodegroups")  # warm the clients
                ng = _timed(args.rounds, lambda: get("/api/v1/clusters/bench/nodegroups"))
                print(
                    f"nodegroups list, {args.nodegroups} groups:  p50 {_pct(ng, 0.5):7.1f} ms  "
                    f"p99 {_pct(ng, 0.99):7.1f} ms  ({args.rounds} rounds)"
                )
                get("/api/v1/clusters/bench/hyperpod")
                hp = _timed(args.rounds, lambda: get("/api/v1/clusters/bench/hyperpod"))
                print(
                    f"hyperpod overview, {args.instance_groups} groups: p50 {_pct(hp, 0.5):7.1f} ms  "
                    f"p99 {_pct(hp, 0.99):7.1f} ms  ({args.rounds} rounds)"
                )

                start = time.perf_counter()
                api_keys, api_pages = _walk_api(client, headers)
                api_total = time.perf_counter() - start
            start = time.perf_counter()
            boto_keys, boto_pages = _walk_boto(s3)
            boto_total = time.perf_counter() - start
            for label, keys, pages, total in (
                ("through Podium", api_keys, api_pages, api_total),
                ("boto3 direct  ", boto_keys, boto_pages, boto_total),
            ):
                print(
                    f"s3 walk {label}: {keys} keys, {len(pages)} pages, page p50 "
                    f"{_pct(pages, 0.5):7.1f} ms p99 {_pct(pages, 0.99):7.1f} ms, mean "
                    f"{statistics.fmean(pages) * 1000:7.1f} ms, full walk {total:6.2f} s"
                )
        finally:
            redis_server.stop()
            postgres.stop()


if __name__ == "__main__":
    main()
