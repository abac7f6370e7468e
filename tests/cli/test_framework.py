"""The pieces of the CLI framework that need no server: parameter parsing, where the server and token
come from, and the status → exit code table scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from podium_cli.client import CliError, ExitCode, exit_code_for_status, resolve_connection, write_config_file
from podium_cli.commands.submit import merge_params


def test_param_values_are_json_when_they_parse_and_dotted_keys_nest() -> None:
    params = merge_params(
        {"namespace": "from-file"},
        ["replicas=3", "dry=true", "labels.team=ml", "labels.old=null", "name=web", "note=3 pods", "ns="],
    )
    assert params == {
        "namespace": "from-file",
        "replicas": 3,
        "dry": True,
        "labels": {"team": "ml", "old": None},
        "name": "web",
        "note": "3 pods",
        "ns": "",
    }
    assert merge_params({}, ['items=[{"kind": "scale"}]']) == {"items": [{"kind": "scale"}]}


@pytest.mark.parametrize("bad", [["novalue"], ["=x"], ["name=web", "name.sub=x"]])
def test_bad_params_are_usage_errors(bad: list[str]) -> None:
    with pytest.raises(CliError) as err:
        merge_params({}, bad)
    assert err.value.exit_code == ExitCode.usage


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 2), (409, 2), (413, 2), (422, 2), (401, 4), (403, 4), (404, 3), (429, 5), (500, 5), (503, 5)],
)
def test_exit_code_table(status: int, code: int) -> None:
    assert exit_code_for_status(status) == code


def test_flags_win_over_environment_which_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_CONFIG", str(tmp_path / "config.json"))
    monkeypatch.delenv("PODIUM_URL", raising=False)
    monkeypatch.delenv("PODIUM_TOKEN", raising=False)
    assert resolve_connection(None, None).server == "http://127.0.0.1:8000"

    path = write_config_file("http://from-file:1/", "file-token")
    assert json.loads(path.read_text()) == {"server": "http://from-file:1/", "token": "file-token"}
    conn = resolve_connection(None, None)
    assert (conn.server, conn.token) == ("http://from-file:1", "file-token")

    monkeypatch.setenv("PODIUM_URL", "http://from-env:2")
    monkeypatch.setenv("PODIUM_TOKEN", "env-token")
    conn = resolve_connection(None, None)
    assert (conn.server, conn.token) == ("http://from-env:2", "env-token")

    conn = resolve_connection("http://from-flag:3", "flag-token")
    assert (conn.server, conn.token) == ("http://from-flag:3", "flag-token")


def test_a_broken_config_file_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    monkeypatch.setenv("PODIUM_CONFIG", str(bad))
    with pytest.raises(CliError) as err:
        resolve_connection(None, None)
    assert err.value.exit_code == ExitCode.usage
