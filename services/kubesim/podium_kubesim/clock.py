"""Simulated time: every controller delay goes through one `Clock`; `--speed 10` makes the cluster 10x faster.

Wall-clock timestamps written into objects stay real (kubectl prints ages from them); only the waits between
state transitions shrink.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed

    def delay(self, seconds: float) -> float:
        """Real seconds to wait for `seconds` of simulated time."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.delay(seconds))

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    @staticmethod
    def timestamp() -> str:
        """RFC 3339 with second precision, as metav1.Time serialises."""
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
