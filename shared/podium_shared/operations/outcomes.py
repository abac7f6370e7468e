"""How a handler says something other than "done": retry me later, or I stopped because of a cancel.

Both are PodiumErrors so they carry a sentence a person understands; the runner stores `{code, message}`
on the operation. Everything else a handler raises is permanent: a PodiumError fails the operation with its
own message, and any other exception is first classified by `podium_shared.kube.errors.classify`."""

from __future__ import annotations

from typing import Any

from podium_shared.errors import PodiumError


class TransientError(PodiumError):
    """Worth retrying: the cluster was unreachable, overloaded, or the object changed under us."""

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


class Cancelled(PodiumError):
    status = 409
    code = "cancelled"

    def __init__(self, message: str = "cancelled at the user's request") -> None:
        super().__init__(message)
