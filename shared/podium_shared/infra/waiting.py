"""Waiting for an AWS transition (CREATING -> ACTIVE, Updating -> InService, …) with progress and a bound.

Each poll reports the status seen as progress and honours cancellation; the wait ends when `done` says so,
fails at once when `failed` returns a reason, and fails with a clear message once the bound has passed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from podium_shared.errors import PodiumError

T = TypeVar("T")


@dataclass
class Waiter:
    poll_seconds: float
    timeout_seconds: float
    progress: Callable[..., None] = lambda **_k: None
    check_cancelled: Callable[[], None] = lambda: None
    # botocore retries seen across every call of this command (throttling, 5xx absorbed by `standard`).
    aws_retries: int = 0
    statuses: list[str] = field(default_factory=list)

    def saw(self, response: dict[str, Any]) -> None:
        self.aws_retries += int((response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)

    def until(
        self,
        what: str,
        poll: Callable[[], T],
        *,
        status_of: Callable[[T], str],
        done: Callable[[T], bool],
        failed: Callable[[T], str | None] = lambda _s: None,
    ) -> T:
        start = time.monotonic()
        while True:
            self.check_cancelled()
            state = poll()
            status = status_of(state)
            if not self.statuses or self.statuses[-1] != status:
                self.statuses.append(status)
            elapsed = time.monotonic() - start
            self.progress(status=status, waiting_for=what, elapsed_seconds=round(elapsed, 1),
                          aws_retries=self.aws_retries)  # fmt: skip
            if done(state):
                return state
            reason = failed(state)
            if reason:
                raise PodiumError(
                    reason, code="aws_transition_failed", status=502, details={"status": status}
                )
            if elapsed >= self.timeout_seconds:
                raise PodiumError(
                    f"gave up waiting for {what} after {self.timeout_seconds:.0f} s (status still {status})",
                    code="aws_wait_timeout",
                    status=504,
                    details={"status": status},
                )
            # Polling AWS for a status is the only way to learn it; the interval is the point.
            time.sleep(self.poll_seconds)
