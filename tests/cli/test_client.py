"""The user-command framework against the real API (P1's app served by uvicorn on a real port, real
Postgres and Redis): what each output format prints, and the exit codes scripts rely on."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from api.fixtures import ApiUser
from fastapi import FastAPI
from podium_cli.client import ExitCode
from podium_cli.main import app as podium_app
from podium_shared.embedded import free_port
from support.served import serve
from typer.testing import CliRunner, Result

Podium = Callable[..., Result]


@pytest.fixture
def api_url(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def podium(api_url: str, tmp_path: Path) -> Podium:
    """podium(args..., token=...) runs the CLI in-process against the API, as a script would."""

    def run(*args: str, token: str | None = None, url: str | None = None, stdin: str | None = None) -> Result:
        env = {
            "PODIUM_URL": url or api_url,
            "PODIUM_TOKEN": token,
            "PODIUM_CONFIG": str(tmp_path / "podium-config.json"),
        }
        return CliRunner().invoke(podium_app, list(args), env=env, input=stdin)

    return run


def label_params(name: str = "web") -> list[str]:
    return ["-p", "namespace=default", "-p", "kind=Deployment", "-p", f"name={name}", "-p", "labels.team=ml"]


def test_submit_prints_the_operation_in_each_format(podium: Podium, operator: ApiUser, cluster: str) -> None:
    submitted = podium("command", "label", "-c", cluster, *label_params(), "-o", "json", token=operator.token)
    assert submitted.exit_code == 0, submitted.output
    op = json.loads(submitted.stdout)
    assert op["kind"] == "label"
    assert op["status"] == "queued"
    assert op["params"]["labels"] == {"team": "ml"}
    assert op["requested_by"] == operator.username

    as_yaml = podium("ops", "get", op["id"], "-o", "yaml", token=operator.token)
    assert as_yaml.exit_code == 0, as_yaml.output
    assert yaml.safe_load(as_yaml.stdout)["id"] == op["id"]

    as_table = podium("ops", "get", op["id"], token=operator.token)
    assert as_table.exit_code == 0
    assert op["id"] in as_table.stdout
    assert "queued" in as_table.stdout

    # -o before the command applies too, and a list is a table with one row per operation.
    listed = podium("-o", "table", "ops", "list", "--cluster", cluster, token=operator.token)
    assert listed.exit_code == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["ID", "KIND", "CLUSTER", "STATUS"]
    assert any(row.split()[0] == op["id"] for row in rows)
    listed_json = json.loads(podium("ops", "list", "--cluster", cluster, "-o", "json",
                                    token=operator.token).stdout)  # fmt: skip
    assert [item["id"] for item in listed_json["items"]] == [op["id"]]


def test_params_file_and_idempotency_key(
    podium: Podium, operator: ApiUser, cluster: str, tmp_path: Path
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("namespace: default\nkind: Deployment\nname: api\nlabels: {tier: gold}\n")
    args = ["command", "label", "-c", cluster, "-f", str(params), "--idempotency-key", "k-1", "-o", "json"]
    first = podium(*args, token=operator.token)
    again = podium(*args, token=operator.token)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["id"] == json.loads(again.stdout)["id"]
    # The same key with another body is a conflict: a usage error for a script.
    other = podium(*args[:-2], "-p", "labels.tier=silver", token=operator.token)
    assert other.exit_code == ExitCode.usage
    assert "error:" in other.stderr


def test_exit_codes(podium: Podium, operator: ApiUser, viewer: ApiUser, cluster: str) -> None:
    no_token = podium("ops", "list")
    assert no_token.exit_code == ExitCode.auth
    assert no_token.stderr.startswith("error: unauthenticated:")
    assert podium("ops", "list", token="wrong-token-0123456789abcdef").exit_code == ExitCode.auth

    forbidden = podium("command", "label", "-c", cluster, *label_params(), token=viewer.token)
    assert forbidden.exit_code == ExitCode.auth
    assert "forbidden" in forbidden.stderr

    missing = podium("ops", "get", "00000000-0000-0000-0000-000000000000", token=operator.token)
    assert missing.exit_code == ExitCode.not_found

    invalid = podium("command", "scale", "-c", cluster, "-p", "namespace=default", "-p", "name=web",
                     "-p", "replicas=-1", token=operator.token)  # fmt: skip
    assert invalid.exit_code == ExitCode.usage
    assert "replicas" in invalid.stderr  # the server's details reach the user

    unknown_kind = podium("command", "no-such-kind", "-c", cluster, token=operator.token)
    assert unknown_kind.exit_code == ExitCode.usage

    bad_param = podium("command", "label", "-p", "novalue", token=operator.token)
    assert bad_param.exit_code == ExitCode.usage

    down = podium("ops", "list", token=operator.token, url=f"http://127.0.0.1:{free_port()}")
    assert down.exit_code == ExitCode.unavailable
    assert "cannot reach" in down.stderr


def test_cancel_then_watch_reports_failure(podium: Podium, operator: ApiUser, cluster: str) -> None:
    # No worker runs here, so the operation stays queued until it is cancelled.
    op = json.loads(podium("command", "label", "-c", cluster, *label_params("c"), "-o", "json",
                           token=operator.token).stdout)  # fmt: skip
    cancelled = podium("ops", "cancel", op["id"], "-o", "json", token=operator.token)
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(cancelled.stdout)["status"] == "cancelled"

    watched = podium("ops", "watch", op["id"], "-o", "json", token=operator.token)
    assert watched.exit_code == ExitCode.failed
    assert json.loads(watched.stdout)["status"] == "cancelled"  # the final state is still printed

    # A queued operation that never finishes: --timeout gives up with "unavailable" (try later).
    stuck = json.loads(podium("command", "label", "-c", cluster, *label_params("s"), "-o", "json",
                              token=operator.token).stdout)  # fmt: skip
    timed_out = podium(
        "ops", "watch", stuck["id"], "--timeout", "0.3", "--interval", "0.1", token=operator.token
    )
    assert timed_out.exit_code == ExitCode.unavailable
    assert "still queued" in timed_out.stderr


def test_users_clusters_and_audit(podium: Podium, admin: ApiUser, operator: ApiUser, tmp_path: Path) -> None:
    created = podium("users", "create", f"cli-{os.getpid()}", "--role", "operator", "-n", "team-a",
                     "-o", "json", token=admin.token)  # fmt: skip
    assert created.exit_code == 0, created.output
    user = json.loads(created.stdout)
    assert user["token"]
    assert user["namespaces"] == ["team-a"]
    listed = json.loads(podium("users", "list", "-o", "json", token=admin.token).stdout)
    assert user["username"] in {u["username"] for u in listed}
    assert podium("users", "list", token=operator.token).exit_code == ExitCode.auth

    name = f"cli-{os.getpid()}-{time.monotonic_ns() % 100000}"
    added = podium("clusters", "add", name, "--kubeconfig", "/etc/kube/config", "--context", "prod",
                   token=admin.token)  # fmt: skip
    assert added.exit_code == 0, added.output
    table = podium("clusters", "list", token=admin.token).stdout
    assert any(line.split()[:3] == [name, "prod", "-"] for line in table.splitlines()), table
    assert podium("clusters", "add", name, token=admin.token).exit_code == ExitCode.usage  # 409

    events = json.loads(podium("audit", "list", "--actor", admin.username, "-o", "json",
                               token=admin.token).stdout)  # fmt: skip
    actions = {e["action"] for e in events["items"]}
    assert "cluster.register" in actions
    export = tmp_path / "audit.jsonl"
    exported = podium("audit", "export", "--format", "jsonl", "--actor", admin.username, "--to", str(export),
                      token=admin.token)  # fmt: skip
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    # Everything listed is exported (the export may add its own audit event after the listing).
    assert {e["id"] for e in events["items"]} <= {e["id"] for e in lines}
    assert {e["actor"] for e in lines} == {admin.username}
    csv_out = podium("audit", "export", "-F", "csv", "--actor", admin.username, token=admin.token)
    assert csv_out.stdout.splitlines()[0].startswith("id,")


def test_audit_verify(podium: Podium, admin: ApiUser) -> None:
    verified = podium("audit", "verify", "-o", "json", token=admin.token)
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ok"] is True


def test_login_stores_server_and_token_privately(
    podium: Podium, api_url: str, operator: ApiUser, tmp_path: Path
) -> None:
    assert podium("login", "--token", "wrong-token-0123456789abcdef").exit_code == ExitCode.auth
    config = tmp_path / "podium-config.json"
    assert not config.exists()  # nothing is stored unless the token works

    logged_in = podium("login", "--server", api_url, "--token", operator.token)
    assert logged_in.exit_code == 0, logged_in.output
    assert operator.username in logged_in.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"server": api_url, "token": operator.token}
    # Later commands need neither flag nor environment.
    env = {"PODIUM_CONFIG": str(config), "PODIUM_URL": None, "PODIUM_TOKEN": None}
    result = CliRunner().invoke(podium_app, ["ops", "list", "-o", "json"], env=env)
    assert result.exit_code == 0, result.output


def test_watch_is_woken_by_the_operation_event(
    podium: Podium, api_url: str, operator: ApiUser, cluster: str
) -> None:
    """`ops watch` subscribes to the WebSocket's operation events: with a 60 s poll interval it still
    sees the cancellation at once, because the event (not the poll) wakes it."""
    op = json.loads(podium("command", "label", "-c", cluster, *label_params("w"), "-o", "json",
                           token=operator.token).stdout)  # fmt: skip
    env = {**os.environ, "PODIUM_URL": api_url, "PODIUM_TOKEN": operator.token}
    watch = subprocess.Popen(
        [sys.executable, "-m", "podium_cli", "ops", "watch", op["id"], "--interval", "60", "-o", "json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert watch.stderr is not None
        # The first status line is printed once the subscription is in place.
        assert "queued" in watch.stderr.readline()
        with httpx.Client(base_url=api_url, headers=operator.headers) as http:
            assert http.post(f"/api/v1/operations/{op['id']}/cancel").status_code == 202
        out, err = watch.communicate(timeout=20)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    assert watch.returncode == ExitCode.failed, err
    assert json.loads(out)["status"] == "cancelled"
    assert "cancelled" in err
