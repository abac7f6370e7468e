"""Sealed secret params: a command's secret fields (a Hugging Face token, …) are encrypted into
`operations.sealed_params` at accept time, so the database, the audit log and every API answer only ever
hold `"***"`. The worker opens them, uses them and erases the column when the operation finishes.

The Fernet key is derived from `settings.secret_key` with HKDF, so rotating the secret key makes sealed
params of still-queued operations unreadable (they fail with a clear error) rather than silently wrong."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from podium_shared.errors import PodiumError
from podium_shared.settings import current_settings

# Domain separation: the same secret key may key other things later (session cookies); each use gets
# its own derived key.
_HKDF_INFO = b"podium/sealed-params/v1"


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def _key(secret_key: str | None) -> str:
    if secret_key is not None:
        return secret_key
    # The same road the worker's settings came by, so the API seals with the key the worker opens with.
    return current_settings().secret_key.get_secret_value()


def seal(values: dict[str, Any], *, secret_key: str | None = None) -> bytes:
    return _fernet(_key(secret_key)).encrypt(json.dumps(values, separators=(",", ":")).encode())


def open_sealed(blob: bytes, *, secret_key: str | None = None) -> dict[str, Any]:
    try:
        plain = _fernet(_key(secret_key)).decrypt(bytes(blob))
    except InvalidToken:
        raise PodiumError(
            "the operation's secret parameters cannot be decrypted (was PODIUM_SECRET_KEY changed?)",
            code="sealed_params_unreadable",
            status=500,
        ) from None
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise PodiumError("sealed params are not an object", code="sealed_params_unreadable", status=500)
    return value
