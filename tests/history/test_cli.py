"""`podium runs list|get|compare|delete` against the real API (served on a port) and MLflow server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api.fixtures import ApiUser
from mlflow import MlflowClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_cli.main import app as podium_app
from support.served import serve
from typer.testing import CliRunner, Result

from history.helpers import experiment, make_run

Podium = Callable[..., Result]

# The first test of a worker that needs the MLflow server pays its start-up (minutes on a loaded machine).
pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def podium(mlflow_settings: ApiSettings, tmp_path: Path) -> Iterator[Podium]:
    with serve(create_app(mlflow_settings)) as url:

        def run(*args: str, token: str) -> Result:
            env = {"PODIUM_URL": url, "PODIUM_TOKEN": token, "PODIUM_CONFIG": str(tmp_path / "cfg.json")}
            return CliRunner().invoke(podium_app, list(args), env=env)

        yield run


def test_runs_list_get_and_compare(podium: Podium, mlflow: MlflowClient, viewer: ApiUser) -> None:
    eid, name = experiment(mlflow, "cli")
    a = make_run(
        mlflow, eid, name="run-a", tags={"model": "qwen", "podium.job": "sft-a"},
        history={"loss": [2.0, 1.0]}, final={"train_samples_per_second": 2.5},
    )  # fmt: skip
    b = make_run(mlflow, eid, name="run-b", tags={"model": "llama"}, history={"loss": [3.0, 2.5, 2.0]})

    table = podium("runs", "list", "-e", name, token=viewer.token)
    assert table.exit_code == 0, table.output
    header = table.stdout.splitlines()[0].split()
    assert header[:4] == ["EXPERIMENT", "RUN", "STATUS", "MODEL"]
    assert "PODIUM.JOB" in header
    assert "run-a" in table.stdout
    assert "2.500" in table.stdout
    assert "sft-a" in table.stdout

    listed = podium("runs", "list", "-e", name, "-t", "model=llama", "-o", "json", token=viewer.token)
    assert [r["id"] for r in json.loads(listed.stdout)["runs"]] == [b]

    got = podium("runs", "get", a, "-o", "json", token=viewer.token)
    assert got.exit_code == 0, got.output
    assert [p["value"] for p in json.loads(got.stdout)["metric_history"]["loss"]] == [2.0, 1.0]

    compared = podium("runs", "compare", a, b, "-m", "loss", token=viewer.token)
    assert compared.exit_code == 0, compared.output
    lines = compared.stdout.splitlines()
    assert lines[0].split() == ["STEP", "LOSS", "run-a", "LOSS", "run-b"]
    assert len(lines) == 4  # header and steps 1..3


def test_runs_errors_exit_with_their_codes(podium: Podium, viewer: ApiUser) -> None:
    missing = podium("runs", "get", "0" * 32, token=viewer.token)
    assert missing.exit_code == 3
    bad = podium("runs", "list", "-t", "model", token=viewer.token)
    assert bad.exit_code == 2


def test_runs_delete_submits_the_command(
    podium: Podium, operator: ApiUser, viewer: ApiUser, cluster: str
) -> None:
    run_id = "a" * 32
    accepted = podium(
        "runs", "delete", run_id, "-c", cluster, "--no-wait", "-o", "json", token=operator.token
    )
    assert accepted.exit_code == 0, accepted.output
    op = json.loads(accepted.stdout)
    assert (op["kind"], op["params"], op["status"]) == ("delete_training_run", {"run_id": run_id}, "queued")
    restore = podium("runs", "delete", run_id, "-c", cluster, "--restore", "--no-wait", "-o", "json",
                     token=operator.token)  # fmt: skip
    assert json.loads(restore.stdout)["kind"] == "restore_training_run"
    denied = podium("runs", "delete", run_id, "-c", cluster, "--no-wait", token=viewer.token)
    assert denied.exit_code == 4
