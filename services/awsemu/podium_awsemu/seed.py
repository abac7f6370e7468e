"""An emulated account's starting contents: EKS clusters with node groups, HyperPod clusters with instance
groups, S3 buckets with objects. Created through moto's own API over HTTP (so the shapes are AWS's), then
settled at once (a seeded account starts ACTIVE / InService, not CREATING).

The document (JSON; `default_seed.json` is the account `podium up` starts with):

    {"region": "us-west-2",
     "eks_clusters": [{"name": "podium-local", "endpoint": "https://…", "ca_data": "<base64 PEM>",
                       "nodegroups": [{"name": "system-cpu", "instance_types": ["m5.2xlarge"],
                                       "min": 0, "max": 4, "desired": 2, "labels": {}, "taints": []}]}],
     "hyperpod_clusters": [{"name": "podium-hyperpod", "instance_groups": [{"name": "inference-g5",
                            "instance_type": "ml.g5.12xlarge", "count": 2}]}],
     "buckets": [{"name": "podium-models", "objects": {"models/qwen/config.json": "{}"}}]}

An `eks_clusters` entry naming an existing cluster only updates its endpoint / CA (how a kubesim started
later is made the cluster's API server)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from podium_awsemu import extensions

ACCOUNT = "123456789012"
DEFAULT_REGION = "us-west-2"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/podium-node-role"
CLUSTER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/podium-eks-cluster-role"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/podium-hyperpod-execution-role"
LIFECYCLE_URI = "s3://sagemaker-podium-lifecycle/scripts/"
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]


def _client(service: str, url: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="emulator-seed",
        aws_secret_access_key="emulator-seed",  # noqa: S106 - moto accepts any credentials
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def apply(url: str, doc: dict[str, Any]) -> dict[str, int]:
    """Create what `doc` describes in the emulator at `url`; returns counts of what was created."""
    region = str(doc.get("region") or DEFAULT_REGION)
    counts = {"eks_clusters": 0, "nodegroups": 0, "hyperpod_clusters": 0, "buckets": 0, "objects": 0}
    eks = _client("eks", url, region)
    existing = set(eks.list_clusters()["clusters"])
    for spec in doc.get("eks_clusters") or []:
        if spec["name"] not in existing:
            eks.create_cluster(
                name=spec["name"],
                version=str(spec.get("version", "1.31")),
                roleArn=spec.get("role_arn", CLUSTER_ROLE),
                resourcesVpcConfig={"subnetIds": spec.get("subnets", SUBNETS)},
            )
            counts["eks_clusters"] += 1
        _set_endpoint(region, spec)
        for ng in spec.get("nodegroups") or []:
            kwargs: dict[str, Any] = {
                "clusterName": spec["name"],
                "nodegroupName": ng["name"],
                "nodeRole": ng.get("node_role", NODE_ROLE),
                "subnets": ng.get("subnets", spec.get("subnets", SUBNETS)),
                "instanceTypes": ng.get("instance_types", ["m5.2xlarge"]),
                "capacityType": ng.get("capacity_type", "ON_DEMAND"),
                "amiType": ng.get("ami_type", "AL2023_x86_64_STANDARD"),
                "scalingConfig": {
                    "minSize": ng.get("min", 0),
                    "maxSize": ng.get("max", max(1, ng.get("desired", 1))),
                    "desiredSize": ng.get("desired", 1),
                },
                "labels": ng.get("labels", {}),
                "taints": ng.get("taints", []),
                "diskSize": ng.get("disk_size", 100),
            }
            if ng.get("release_version"):
                kwargs["releaseVersion"] = ng["release_version"]
            eks.create_nodegroup(**kwargs)
            counts["nodegroups"] += 1
    sm = _client("sagemaker", url, region)
    for spec in doc.get("hyperpod_clusters") or []:
        sm.create_cluster(
            ClusterName=spec["name"],
            InstanceGroups=[
                {
                    "InstanceGroupName": g["name"],
                    "InstanceType": g["instance_type"],
                    "InstanceCount": g.get("count", 1),
                    "ExecutionRole": g.get("execution_role", EXECUTION_ROLE),
                    "LifeCycleConfig": {
                        "SourceS3Uri": g.get("lifecycle_uri", LIFECYCLE_URI),
                        "OnCreate": g.get("on_create", "on_create.sh"),
                    },
                    "ThreadsPerCore": g.get("threads_per_core", 1),
                }
                for g in spec.get("instance_groups") or []
            ],
            VpcConfig={"SecurityGroupIds": ["sg-0podium0local0001"], "Subnets": spec.get("subnets", SUBNETS)},
        )
        counts["hyperpod_clusters"] += 1
    s3 = _client("s3", url, region)
    for bucket in doc.get("buckets") or []:
        kwargs = {"Bucket": bucket["name"]}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        counts["buckets"] += 1
        for key, content in (bucket.get("objects") or {}).items():
            s3.put_object(Bucket=bucket["name"], Key=key, Body=str(content).encode())
            counts["objects"] += 1
    settle_now()
    return counts


def _set_endpoint(region: str, spec: dict[str, Any]) -> None:
    from moto.eks.models import eks_backends  # noqa: PLC0415 - moto loads backends lazily

    cluster = eks_backends[ACCOUNT][region].clusters[spec["name"]]
    if spec.get("endpoint"):
        cluster.endpoint = spec["endpoint"]
    if spec.get("ca_data"):
        cluster.certificate_authority = {"data": spec["ca_data"]}


def settle_now() -> None:
    """Every node group CREATING -> ACTIVE and every HyperPod cluster Creating -> InService, now."""
    from moto.eks.models import eks_backends  # noqa: PLC0415
    from moto.sagemaker.models import sagemaker_backends  # noqa: PLC0415

    st = extensions.state()
    eks_all: Any = eks_backends
    sm_all: Any = sagemaker_backends
    with st.lock:
        for account in eks_all.values():
            for backend in account.values():
                for cluster in backend.clusters.values():
                    for ng in cluster.nodegroups.values():
                        if ng.status == "CREATING":
                            ng.status = "ACTIVE"
        for account in sm_all.values():
            for backend in account.values():
                for cluster in backend.clusters.values():
                    if cluster.status != "Creating":
                        continue
                    for group in cluster.instance_groups:
                        extensions._converge(cluster, group)
                    extensions._settle_cluster(cluster)
