"""The one polling loop of the test suite: wait on a condition with a deadline, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T | None], timeout: float = 30.0, what: str = "condition", interval: float = 0.05
) -> T:
    """Poll `check` until it returns something truthy and return that; fail naming `what` after `timeout`.

    `check` runs once more after the deadline, so a slow last poll is not reported as a time-out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last value: {value!r})")
        time.sleep(interval)
