"""Console passwords: argon2id through argon2-cffi (its defaults follow RFC 9106's low-memory profile),
stored as PHC strings. A password is never logged, audited or returned; only generated one-time passwords
are shown, once, to the admin who asked for them."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from podium_shared.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id
# Verified when the username is unknown, so a wrong name costs as long as a wrong password and the
# answer's timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def generate() -> str:
    """A one-time password a person can type: 16 url-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


def validate_new(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise Invalid(
            f"a password is {MIN_LENGTH} to {MAX_LENGTH} characters long",
            code="weak_password",
            details={"field": "password", "min_length": MIN_LENGTH},
        )
    return password
