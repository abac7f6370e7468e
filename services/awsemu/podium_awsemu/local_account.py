"""The emulated account of the local run, made from a kubesim scenario so both describe the same groups.

`scenario_seed(scenario)` turns a scenario's `nodeGroups` into a seed document (seed.py's format): the
`kind: eks` groups become node groups of the EKS cluster `local`, the `kind: hyperpod` groups instance
groups of their HyperPod cluster (`clusterName`, default `podium-hyperpod`), with the default seed's
buckets. kubesim, started with its cloud controller on that account, then finds at start exactly the groups
it already has. `point_at_kubesim(...)` makes the EKS cluster's endpoint and CA those of the running
kubesim, which is how `podium up` lets Podium reach it by EKS name like a real cluster.
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from podium_kubesim.scenario import instance_type, read_scenario

LOCAL_EKS_CLUSTER = "local"
DEFAULT_HYPERPOD_CLUSTER = "podium-hyperpod"
DEFAULT_REGION = "us-west-2"


def default_seed() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        resources.files("podium_awsemu").joinpath("default_seed.json").read_text()
    )
    return doc


def scenario_seed(
    scenario: str | Path | None = None, *, eks_cluster: str = LOCAL_EKS_CLUSTER
) -> dict[str, Any]:
    """The seed document whose groups are the scenario's (None: the default scenario)."""
    data = read_scenario(scenario)
    region = str(data.get("region") or DEFAULT_REGION)
    nodegroups: list[dict[str, Any]] = []
    hyperpod: dict[str, list[dict[str, Any]]] = {}
    for group in data.get("nodeGroups") or []:
        name = str(group["name"])
        itype = str(group.get("instanceType") or "m5.2xlarge")
        count = int(group.get("count") or 0)
        if str(group.get("kind") or "eks") == "hyperpod":
            cluster = str(group.get("clusterName") or DEFAULT_HYPERPOD_CLUSTER)
            hyperpod.setdefault(cluster, []).append({"name": name, "instance_type": itype, "count": count})
            continue
        known = instance_type(itype)
        nodegroups.append(
            {
                "name": name,
                "instance_types": [itype],
                "min": int(group.get("minSize", 0)),
                "max": int(group.get("maxSize", max(1, 2 * count))),
                "desired": count,
                "capacity_type": str(group.get("capacityType") or "ON_DEMAND"),
                # A GPU instance type gets the GPU AMI, as the create_nodegroup default does.
                "ami_type": "AL2_x86_64_GPU"
                if known is not None and known.gpus
                else "AL2023_x86_64_STANDARD",
                "labels": {str(k): str(v) for k, v in (group.get("labels") or {}).items()},
                "taints": [_eks_taint(t) for t in group.get("taints") or []],
            }
        )
    doc: dict[str, Any] = {"region": region}
    doc["eks_clusters"] = [{"name": eks_cluster, "nodegroups": nodegroups}]
    doc["hyperpod_clusters"] = [{"name": c, "instance_groups": gs} for c, gs in hyperpod.items()]
    doc["buckets"] = default_seed().get("buckets") or []
    return doc


def _eks_taint(taint: dict[str, Any]) -> dict[str, str]:
    effect = str(taint.get("effect") or "NoSchedule")
    upper = (
        "".join("_" + c if c.isupper() else c for c in effect).lstrip("_").upper()
    )  # NoSchedule -> NO_SCHEDULE
    return {"key": str(taint.get("key") or ""), "value": str(taint.get("value") or ""), "effect": upper}


def hyperpod_cluster(doc: dict[str, Any]) -> str | None:
    """The (first) HyperPod cluster of a seed document; kubesim follows one."""
    clusters = doc.get("hyperpod_clusters") or []
    return str(clusters[0]["name"]) if clusters else None


def write_seed(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def point_at_kubesim(
    emulator_url: str, *, region: str, endpoint: str, ca_pem: bytes, eks_cluster: str = LOCAL_EKS_CLUSTER
) -> None:
    """Make `eks:DescribeCluster` of `eks_cluster` answer with kubesim's HTTPS URL and CA."""
    doc = {
        "region": region,
        "eks_clusters": [
            {"name": eks_cluster, "endpoint": endpoint, "ca_data": base64.b64encode(ca_pem).decode()}
        ],
    }
    response = httpx.post(emulator_url.rstrip("/") + "/_emu/seed", json=doc, timeout=30.0)
    response.raise_for_status()
