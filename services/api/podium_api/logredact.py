"""Keeps bearer tokens out of the server's own logs.

Browsers cannot set headers on a WebSocket, so some clients pass `?token=…`; uvicorn logs the full path
of every request and WebSocket handshake, query string included. This filter rewrites those log records
before any handler formats them."""

from __future__ import annotations

import logging
import re

_TOKEN_QUERY = re.compile(r"((?:^|[?&;])(?:token|access_token)=)[^&;\s\"]*", re.IGNORECASE)
_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn")


def redact(text: str) -> str:
    return _TOKEN_QUERY.sub(r"\1***", text)


class TokenRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Idempotent: attaching the same filter instance twice is a no-op for `logging`."""
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)


_FILTER = TokenRedactingFilter()
