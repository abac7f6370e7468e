"""API-only settings on top of the shared ones (same PODIUM_ prefix)."""

from __future__ import annotations

from podium_shared.operations.kinds import MAX_BULK_ITEMS
from podium_shared.settings import PodiumSettings


class ApiSettings(PodiumSettings):
    # Requests larger than this are refused with 413 before they are parsed.
    max_body_bytes: int = 1024 * 1024
    # Items of one bulk command; more is refused with 422 (split the work, or raise this).
    max_bulk_items: int = MAX_BULK_ITEMS
    # Per-user token bucket over every authenticated request: sustained rate and burst.
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 100
    # At most one audit row per user per interval for failed authentications, so a flood of bad
    # tokens cannot fill the append-only table.
    auth_failure_audit_interval_seconds: int = 60


def api_settings(settings: PodiumSettings) -> ApiSettings:
    if isinstance(settings, ApiSettings):
        return settings
    return ApiSettings(**settings.model_dump())
