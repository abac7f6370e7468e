"""What boto3 raises, turned into Podium's one error type, split like `kube/errors.py` by what to do next.

Transient (the pipeline retries with backoff): throttling codes, HTTP 5xx, connection failures and
timeouts — after botocore's own `standard` retries ran out; the attempts botocore made are kept in the
details. Permanent (fail at once, with a sentence a person understands): access denied and other
credential problems, validation errors, not found, resource in use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.exceptions

from podium_shared.errors import Conflict, Invalid, NotFound, PodiumError, TransientError

THROTTLING = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    }
)  # fmt: skip
ACCESS = frozenset(
    {
        "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
        "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch",
        "InvalidAccessKeyId", "AuthFailure", "UnauthorizedException", "NotAuthorized",
    }
)  # fmt: skip
NOT_FOUND = frozenset(
    {"ResourceNotFoundException", "ResourceNotFound", "NoSuchBucket", "NoSuchKey", "NotFoundException", "404"}
)
VALIDATION = frozenset(
    {"ValidationException", "ValidationError", "InvalidParameterException", "InvalidRequestException",
     "InvalidParameterValue", "InvalidArgument", "InvalidParameterCombination", "MalformedPolicyDocument"}
)  # fmt: skip
IN_USE = frozenset({"ResourceInUseException", "ConflictException", "ResourceLimitExceeded"})


def classify(exc: BaseException, *, action: str) -> PodiumError:  # noqa: PLR0911
    """The PodiumError to record for `exc` raised while doing `action` ("scale node group gpu-a")."""
    if isinstance(exc, PodiumError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        return _from_client_error(exc, action)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return PodiumError(
            f"cannot {action}: no AWS credentials found; give the Podium processes credentials through the"
            " standard chain (environment, profile, IRSA or instance role)",
            code="aws_no_credentials",
            status=502,
        )
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectTimeoutError
        | botocore.exceptions.ReadTimeoutError
        | botocore.exceptions.ConnectionClosedError,
    ):
        return TransientError(
            f"cannot {action}: AWS could not be reached ({type(exc).__name__})", code="aws_unreachable"
        )
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return Invalid(f"cannot {action}: {exc}")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return PodiumError(f"cannot {action}: {exc}", code="aws_error", status=502)
    return PodiumError(f"unexpected error: {type(exc).__name__}: {exc}", code="internal_error", status=500)


@contextmanager
def aws_call(action: str) -> Iterator[None]:
    """Wrap AWS calls so whatever they raise leaves as a classified PodiumError."""
    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:
        raise classify(exc, action=action) from exc


def retry_attempts(response: dict[str, Any]) -> int:
    """How many times botocore retried the call that produced `response` (0: first try worked)."""
    return int((response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)


def _from_client_error(exc: botocore.exceptions.ClientError, action: str) -> PodiumError:  # noqa: PLR0911
    error = exc.response.get("Error") or {}
    meta = exc.response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "").strip()
    status = int(meta.get("HTTPStatusCode") or 0)
    retries = int(meta.get("RetryAttempts") or 0)
    details: dict[str, Any] = {
        "aws_code": code,
        "http_status": status,
        # Requests botocore sent for this call (first try + retries) before it gave up.
        "aws_attempts": retries + 1,
    }
    if meta.get("RequestId"):
        details["aws_request_id"] = meta["RequestId"]
    said = f": {message}" if message else ""
    if code in THROTTLING or status == 429:
        return TransientError(
            f"AWS is throttling requests to {action} ({code or status})",
            code="aws_throttled",
            details=details,
        )
    if status >= 500 or code in (
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "InternalServerError",
    ):
        return TransientError(f"AWS failed to {action} ({status} {code}){said}", code="aws_server_error",
                              details=details)  # fmt: skip
    if code in ACCESS or status in (401, 403):
        # 502, not 403: the caller is allowed by Podium; it is Podium's own AWS identity that was refused.
        return PodiumError(
            f"AWS denied permission to {action} ({code}){said}. Check the IAM policy of Podium's role"
            " (deploy/iam-policy.json lists what it needs).",
            code="aws_access_denied",
            status=502,
            details=details,
        )
    if (
        code in NOT_FOUND
        or status == 404
        or (code == "ValidationException" and "could not find" in message.lower())
    ):
        return NotFound(f"cannot {action}: not found in AWS{said}", code="aws_not_found", details=details)
    if code in IN_USE:
        return Conflict(f"cannot {action} now{said}", code="aws_in_use", details=details)
    if code in VALIDATION or status == 400:
        return Invalid(f"AWS rejected the request to {action}{said}", code="aws_invalid", details=details)
    return PodiumError(f"AWS refused to {action} ({status} {code}){said}", code="aws_error", status=502,
                       details=details)  # fmt: skip
