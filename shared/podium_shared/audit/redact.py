"""Secrets never reach the audit log in clear: every details object passes through `redact` first."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***"
# Keys that name a secret wherever they appear (hf_token, api_key, password, client_secret, …). `key` is
# matched as a word part so `idempotency_key` is redacted too: it is a client-chosen replay handle.
_SECRET_KEY = re.compile(r"(token|secret|password|passwd|credential|(^|[_-])key($|[_-])|apikey)", re.I)


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.search(name))


def redact(value: Any, extra_keys: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if (is_secret_key(str(k)) or k in extra_keys) and v is not None
                else redact(v, extra_keys)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, extra_keys) for v in value]
    return value
