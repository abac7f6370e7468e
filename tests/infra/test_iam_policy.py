"""deploy/iam-policy.json names exactly the AWS actions Podium's code calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = [ROOT / "shared/podium_shared/infra", ROOT / "shared/podium_shared/aws"]
# boto3 method -> IAM action, for every AWS call in the code.
CALLS = {
    "describe_cluster": {"eks:DescribeCluster", "sagemaker:DescribeCluster"},
    "list_nodegroups": {"eks:ListNodegroups"},
    "describe_nodegroup": {"eks:DescribeNodegroup"},
    "create_nodegroup": {"eks:CreateNodegroup"},
    "update_nodegroup_config": {"eks:UpdateNodegroupConfig"},
    "delete_nodegroup": {"eks:DeleteNodegroup"},
    "list_cluster_nodes": {"sagemaker:ListClusterNodes"},
    "update_cluster": {"sagemaker:UpdateCluster"},
    "list_objects_v2": {"s3:ListBucket"},
    "head_object": {"s3:GetObject"},
    "get_object": {"s3:GetObject"},
}
NOT_IAM = {"assume_role", "generate_presigned_url", "get_caller_identity", "get_paginator"}


def test_policy_actions_are_exactly_the_calls_in_the_code() -> None:
    source = "\n".join(p.read_text() for d in CODE for p in d.glob("*.py"))
    methods = set(re.findall(r"\.([a-z_0-9]+)\(", source))
    methods |= set(re.findall(r"get_paginator\(\"([a-z_0-9]+)\"\)", source))
    methods |= set(re.findall(r"\"(get_object|get_caller_identity)\"", source))
    aws_methods = {m for m in methods if m in CALLS or m in NOT_IAM}
    assert aws_methods - NOT_IAM == set(CALLS), (
        "a boto3 call was added or removed: update CALLS and the policy"
    )
    needed = set().union(*CALLS.values()) | {"iam:PassRole"}
    policy = json.loads((ROOT / "deploy/iam-policy.json").read_text())
    granted: set[str] = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
        assert "*" not in "".join(granted)
    assert granted == needed
