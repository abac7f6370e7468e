import json
import shlex

import pytest
from podium_shared.serving.curl import curl_command

HOSTILE = [
    "plain",
    "it's",
    '"double"',
    "$(rm -rf /)",
    "`id`",
    "a\nb\r\nc",
    "; echo pwned #",
    "key: value\n- item\n---\nkind: Secret",
    "-- --data @/etc/passwd",
    "\\ backslash \\\\",
    "unicode ✓ 模型",
    "'; DROP TABLE operations; --",
    "x" * 10000,
    "",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_any_payload_round_trips_through_a_posix_shell_tokeniser(payload: str) -> None:
    body = json.dumps({"model": "m", "prompt": payload})
    url = "http://lb.example:8000/v1/completions?q=" + "a&b"
    cmd = curl_command(url=url, method="POST", body=body, headers={"Content-Type": "application/json"})
    argv = shlex.split(cmd)
    assert argv == [
        "curl",
        "-sS",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-raw",
        body,
        url,
    ]


@pytest.mark.parametrize("payload", HOSTILE)
def test_raw_non_json_bodies_round_trip_too(payload: str) -> None:
    argv = shlex.split(curl_command(url="http://h/v1/models", method="POST", body=payload))
    assert argv[argv.index("--data-raw") + 1] == payload


def test_get_and_stream() -> None:
    assert curl_command(url="http://h/v1/models") == "curl -sS http://h/v1/models"
    assert "-N" in shlex.split(curl_command(url="http://h/x", method="POST", body="{}", stream=True))
