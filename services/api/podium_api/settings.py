"""API-only settings on top of the shared ones (same PODIUM_ prefix)."""

from __future__ import annotations

from pathlib import Path

from podium_shared.operations.kinds import MAX_BULK_ITEMS
from podium_shared.settings import PodiumSettings
from pydantic import Field


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

    # Console sessions (docs/sessions.md). The address people open; its scheme decides the cookie's
    # Secure flag (also set whenever the request itself came over TLS) and its origin is allowed.
    public_url: str | None = None
    # Further browser origins allowed to use a session cookie (e.g. a Vite dev server).
    allowed_origins: list[str] = Field(default_factory=list)
    # A session ends after this long without a request, and in any case this long after sign-in.
    session_idle_timeout_seconds: int = Field(default=2 * 3600, ge=60)
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60)
    # Sign-in attempts: a token bucket per username and one per client address (attempts per minute,
    # burst). Every attempt spends a token, so guessing a password is slow from anywhere.
    login_user_per_minute: float = Field(default=6.0, gt=0)
    login_user_burst: int = Field(default=10, ge=1)
    login_address_per_minute: float = Field(default=30.0, gt=0)
    login_address_burst: int = Field(default=60, ge=1)

    # The built web console (services/console/dist); None = next to the source tree.
    console_dir: Path | None = None


def api_settings(settings: PodiumSettings) -> ApiSettings:
    if isinstance(settings, ApiSettings):
        return settings
    return ApiSettings(**settings.model_dump())
