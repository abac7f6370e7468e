from __future__ import annotations

import logging

import pytest
from podium_api import logredact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/api/v1/ws?token=pod_secret123", "/api/v1/ws?token=***"),
        ("/api/v1/ws?x=1&token=pod_abc&y=2", "/api/v1/ws?x=1&token=***&y=2"),
        ("/api/v1/ws?TOKEN=pod_abc", "/api/v1/ws?TOKEN=***"),
        ("/api/v1/ws?access_token=pod_abc", "/api/v1/ws?access_token=***"),
        ("/api/v1/operations?kind=token", "/api/v1/operations?kind=token"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert logredact.redact(line) == expected


def test_uvicorn_records_lose_the_token(caplog: pytest.LogCaptureFixture) -> None:
    logredact.install()
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        # The shape uvicorn's WebSocket handshake log uses: the path with its query string as an argument.
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/api/v1/ws?token=pod_topsecret"
        )
    assert "pod_topsecret" not in caplog.text
    assert "/api/v1/ws?token=***" in caplog.text
