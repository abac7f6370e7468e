"""AWS failures injected by the emulator (in AWS's own wire format, so botocore parses them as it would
AWS's): throttling and 5xx are retried — by botocore's `standard` mode first, then by the pipeline with
backoff — and end in success with the attempts recorded; AccessDenied fails at once with its message.
Afterwards no credential is found in the database, the audit log, the logs or any response."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from podium_awsemu.runner import RunningEmulator
from podium_shared.models.operation import OperationStatus
from podium_shared.models.user import Role
from sqlalchemy import text
from worker.fixtures import Pipeline, WorkerProcess

from infra.helpers import ACCESS_KEY, EKS_NAME, SECRET_KEY, InfraApi, boto, ok, run

pytestmark = pytest.mark.usefixtures("worker")

DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/podium/worker is not authorized to perform:"
    " eks:UpdateNodegroupConfig on resource: nodegroup/podium-test/system-cpu"
)


def _desired(emulator: RunningEmulator, group: str) -> int:
    ng = boto("eks", emulator.url).describe_nodegroup(clusterName=EKS_NAME, nodegroupName=group)
    return int(ng["nodegroup"]["scalingConfig"]["desiredSize"])


def test_throttling_absorbed_by_botocore_is_counted(
    pipeline: Pipeline, infra_api: InfraApi, aws_faults: RunningEmulator
) -> None:
    want = _desired(aws_faults, "gpu-a10g") % 8 + 1
    aws_faults.fault(
        service="eks", operation="DescribeNodegroup", status=429, code="ThrottlingException", count=2
    )
    op = run(
        pipeline, infra_api, "scale_nodegroup", {"nodegroup": "gpu-a10g", "min": 0, "max": 8, "desired": want}
    )
    result = ok(op)
    assert op.attempts == 1
    assert result["aws_retries"] == 2
    assert all(r["fired"] == 2 for r in aws_faults.faults())
    assert _desired(aws_faults, "gpu-a10g") == want


def test_5xx_beyond_botocore_is_retried_by_the_pipeline(
    pipeline: Pipeline, infra_api: InfraApi, aws_faults: RunningEmulator
) -> None:
    before = aws_faults.requests().get("eks:UpdateNodegroupConfig", 0)
    want = _desired(aws_faults, "system-cpu") % 4 + 1
    # Three botocore attempts fail in the first pipeline attempt; the fourth failure and a success follow.
    aws_faults.fault(
        service="eks", operation="UpdateNodegroupConfig", status=500, code="InternalFailure", count=4
    )
    op = run(
        pipeline,
        infra_api,
        "scale_nodegroup",
        {"nodegroup": "system-cpu", "min": 0, "max": 4, "desired": want},
    )
    ok(op)
    assert op.attempts == 2
    assert aws_faults.requests()["eks:UpdateNodegroupConfig"] - before == 5
    retries = pipeline.audit(op.id, "operation.retry")
    assert len(retries) == 1
    error = retries[0].details["error"]
    assert error["code"] == "aws_server_error"
    assert error["details"]["aws_attempts"] == 3
    assert _desired(aws_faults, "system-cpu") == want


def test_sagemaker_throttling_is_retried_to_success(
    pipeline: Pipeline, infra_api: InfraApi, aws_faults: RunningEmulator
) -> None:
    # More throttles than botocore's own attempts for one call: the pipeline must retry too.
    aws_faults.fault(
        service="sagemaker", operation="UpdateCluster", status=400, code="ThrottlingException", count=5
    )
    op = run(pipeline, infra_api, "scale_instance_group", {"group": "training-p4d", "target_count": 2})
    result = ok(op)
    assert op.attempts >= 2
    assert result["current_count"] == 2
    assert all(r["fired"] == 5 for r in aws_faults.faults())
    retry = pipeline.audit(op.id, "operation.retry")[0].details["error"]
    assert retry["code"] == "aws_throttled"
    assert retry["details"]["aws_code"] == "ThrottlingException"


def test_access_denied_fails_at_once_with_its_message(
    pipeline: Pipeline, infra_api: InfraApi, aws_faults: RunningEmulator
) -> None:
    before = aws_faults.requests().get("eks:UpdateNodegroupConfig", 0)
    aws_faults.fault(
        service="eks",
        operation="UpdateNodegroupConfig",
        status=403,
        code="AccessDeniedException",
        message=DENIED,
    )
    op = run(
        pipeline, infra_api, "scale_nodegroup", {"nodegroup": "system-cpu", "min": 0, "max": 4, "desired": 4}
    )
    assert op.status == OperationStatus.failed
    assert op.attempts == 1
    assert op.error is not None
    assert op.error["code"] == "aws_access_denied"
    assert 'AWS denied permission to scale node group "system-cpu"' in op.error["message"]
    assert DENIED in op.error["message"]
    assert aws_faults.requests()["eks:UpdateNodegroupConfig"] - before == 1


def test_access_denied_on_a_read_is_a_clear_502(infra_api: InfraApi, aws_faults: RunningEmulator) -> None:
    aws_faults.fault(service="eks", operation="ListNodegroups", status=403, code="AccessDeniedException",
                     message="not authorized to perform: eks:ListNodegroups")  # fmt: skip
    r = infra_api.get("/clusters/aws/nodegroups")
    assert r.status_code == 502, r.text
    assert r.json()["code"] == "aws_access_denied"
    assert "eks:ListNodegroups" in r.json()["message"]
    # Throttled S3 listings are retried inside botocore and the read succeeds.
    aws_faults.fault(
        service="eks", operation="ListNodegroups", status=503, code="ServiceUnavailable", count=2
    )
    assert infra_api.get("/clusters/aws/nodegroups").status_code == 200


def _everything_stored(pipeline: Pipeline) -> str:
    """Every row of every table, as text."""
    with pipeline.sessions() as session:
        tables = session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        rows = [
            str(r) for t in tables for r in session.execute(text(f'SELECT t::text FROM "{t}" t')).scalars()
        ]
    return "\n".join(rows)


def test_credentials_are_found_nowhere(
    pipeline: Pipeline,
    infra_api: InfraApi,
    worker: WorkerProcess,
    aws_faults: RunningEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Podium's own loggers at DEBUG; third-party libraries at INFO, as deployed (botocore's DEBUG output
    # prints request headers, which carry the access key id, and is never enabled in Podium).
    caplog.set_level(logging.INFO)
    for name in ("podium_shared", "podium_api", "podium_worker"):
        caplog.set_level(logging.DEBUG, logger=name)
    responses: list[Any] = []
    aws_faults.fault(
        service="eks", operation="DescribeNodegroup", status=500, code="InternalFailure", count=3
    )
    op = run(
        pipeline, infra_api, "scale_nodegroup", {"nodegroup": "system-cpu", "min": 0, "max": 4, "desired": 2}
    )
    ok(op)
    for path in ("/clusters/aws/nodegroups", "/clusters/aws/hyperpod", "/clusters/aws/storage",
                 f"/operations/{op.id}", "/clusters"):  # fmt: skip
        r = infra_api.get(path, role=Role.admin)
        responses.append((r.status_code, r.text, dict(r.headers)))
    denied = infra_api.command(
        "scale_nodegroup", {"nodegroup": "system-cpu", "min": 5, "max": 1, "desired": 1}
    )
    responses.append((denied.status_code, denied.text))

    haystacks = {
        "database (every table, the audit log included)": _everything_stored(pipeline),
        "worker log": worker.log_path.read_text(errors="replace"),
        "API responses": repr(responses),
        "this process's log records": "\n".join(r.getMessage() for r in caplog.records),
    }
    for where, text_ in haystacks.items():
        assert text_, where
        for secret in (SECRET_KEY, ACCESS_KEY, "k8s-aws-v1."):
            assert secret not in text_, f"{secret!r} found in the {where}"
