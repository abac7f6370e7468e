"""The boto3 plumbing: an assumed role per cluster (through the emulator's STS), retry mode and timeouts,
error classes, and the registry's validation of the AWS coordinates."""

from __future__ import annotations

import botocore.exceptions
import pytest
from podium_awsemu.runner import RunningEmulator
from podium_shared.aws import sessions
from podium_shared.aws.errors import classify
from podium_shared.errors import Invalid, TransientError
from podium_shared.models.user import Role

from infra.helpers import EKS_NAME, REGION, InfraApi

ROLE = "arn:aws:iam::123456789012:role/podium-cluster-admin"


def _error(code: str, status: int, message: str = "m", retries: int = 0) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries, "RequestId": "r-1"},
        },
        "UpdateNodegroupConfig",
    )


@pytest.mark.parametrize(
    ("code", "status", "transient", "podium_code"),
    [
        ("ThrottlingException", 400, True, "aws_throttled"),
        ("TooManyRequestsException", 429, True, "aws_throttled"),
        ("SlowDown", 503, True, "aws_throttled"),
        ("InternalFailure", 500, True, "aws_server_error"),
        ("ServiceUnavailableException", 503, True, "aws_server_error"),
        ("AccessDeniedException", 403, False, "aws_access_denied"),
        ("AccessDenied", 403, False, "aws_access_denied"),
        ("ExpiredToken", 400, False, "aws_access_denied"),
        ("ValidationException", 400, False, "aws_invalid"),
        ("InvalidParameterException", 400, False, "aws_invalid"),
        ("ResourceNotFoundException", 404, False, "aws_not_found"),
        ("NoSuchBucket", 404, False, "aws_not_found"),
        ("ResourceInUseException", 409, False, "aws_in_use"),
    ],
)
def test_error_classes(code: str, status: int, transient: bool, podium_code: str) -> None:
    err = classify(_error(code, status, retries=2), action='scale node group "a"')
    assert isinstance(err, TransientError) is transient
    assert err.code == podium_code
    assert err.details["aws_code"] == code
    assert err.details["aws_attempts"] == 3
    assert 'scale node group "a"' in err.message


def test_connection_failures_are_transient_and_missing_credentials_permanent() -> None:
    unreachable = classify(
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), action="list"
    )
    assert isinstance(unreachable, TransientError)
    nocreds = classify(botocore.exceptions.NoCredentialsError(), action="list node groups")
    assert not isinstance(nocreds, TransientError)
    assert "standard chain" in nocreds.message


def test_clients_use_standard_retries_and_timeouts(aws_env: RunningEmulator) -> None:
    tuning = sessions.AwsTuning(max_attempts=5, connect_timeout=2.0, read_timeout=7.0)
    eks = sessions.client("eks", sessions.AwsTarget(REGION), tuning)
    config = eks.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (config.connect_timeout, config.read_timeout) == (2.0, 7.0)
    # botocore resolved the endpoint from AWS_ENDPOINT_URL itself.
    assert eks.meta.endpoint_url == aws_env.url
    assert sessions.client("eks", sessions.AwsTarget(REGION), tuning) is eks


def test_an_assumed_role_is_used_for_the_calls(aws_env: RunningEmulator) -> None:
    target = sessions.AwsTarget(REGION, ROLE)
    tuning = sessions.AwsTuning()
    before = aws_env.requests().get("sts:AssumeRole", 0)
    eks = sessions.client("eks", target, tuning)
    assert EKS_NAME in eks.list_clusters()["clusters"]
    assert aws_env.requests()["sts:AssumeRole"] == before + 1
    identity = sessions.client("sts", target, tuning).get_caller_identity()
    assert ":assumed-role/podium-cluster-admin/podium" in identity["Arn"]


def test_role_arns_are_validated() -> None:
    with pytest.raises(Invalid):
        sessions.AwsTarget(REGION, "arn:aws:iam::123:user/alice")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"role_arn": "arn:aws:iam::123456789012:user/alice"}, "role_arn"),
        ({"role_arn": "not-an-arn"}, "role_arn"),
        ({"eks_cluster_name": "x"}, "an EKS cluster needs its region"),
        ({"hyperpod_cluster_name": "hp", "context": "c"}, "a HyperPod cluster needs its region"),
        ({"context": "c", "role_arn": ROLE}, "role_arn is for AWS calls"),
    ],
)
def test_registering_with_bad_aws_coordinates_is_422(
    infra_api: InfraApi, body: dict[str, str], fragment: str
) -> None:
    r = infra_api.client.post(
        "/api/v1/clusters", headers=infra_api.headers(Role.admin), json={"name": "bad-aws", **body}
    )
    assert r.status_code == 422, r.text
    assert fragment in r.text


def test_registering_by_eks_name_with_a_role(infra_api: InfraApi) -> None:
    body = {"name": "by-role", "eks_cluster_name": EKS_NAME, "region": REGION,
            "hyperpod_cluster_name": "hp-1", "role_arn": ROLE}  # fmt: skip
    r = infra_api.client.post("/api/v1/clusters", headers=infra_api.headers(Role.admin), json=body)
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in body} == body
