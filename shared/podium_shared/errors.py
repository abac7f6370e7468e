"""The one error type of Podium. Every expected failure is a PodiumError; one handler turns it into
`{code, message, details}` with its HTTP status, and the worker stores `{code, message}` on the operation."""

from __future__ import annotations

from typing import Any


class PodiumError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(PodiumError):
    status = 404
    code = "not_found"


class Unauthenticated(PodiumError):
    status = 401
    code = "unauthenticated"


class Forbidden(PodiumError):
    status = 403
    code = "forbidden"


class Conflict(PodiumError):
    status = 409
    code = "conflict"


class Invalid(PodiumError):
    status = 422
    code = "invalid"


class RateLimited(PodiumError):
    status = 429
    code = "rate_limited"


class Unavailable(PodiumError):
    status = 503
    code = "unavailable"


class TransientError(PodiumError):
    """Worth retrying: the cluster was unreachable, overloaded, or the object changed under us. It lives
    here, below every layer, because the Kubernetes and AWS client code classifies failures with it and the
    pipeline (operations/) retries on it."""

    status = 503
    code = "transient"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        # Seconds the server asked us to wait (HTTP Retry-After); the backoff never waits less.
        self.retry_after = retry_after
