"""API tokens: `pod_` + 43 url-safe characters (256 random bits), stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "pod_"
_SHAPE = re.compile(r"^pod_[A-Za-z0-9_-]{43}$")
# A bootstrap token chosen by automation (PODIUM_BOOTSTRAP_ADMIN_TOKEN) need not have our shape, but it
# must be long enough not to be guessed.
MIN_CUSTOM_TOKEN_LENGTH = 24


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return bool(_SHAPE.match(token))
