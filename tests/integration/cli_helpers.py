"""The `podium` CLI as a script uses it, against the module's API served on a real port (next to the
worker, the watcher and kubesim of `serving_helpers`). Import with `from integration.cli_helpers import *`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from podium_api.app import create_app
from podium_cli.main import app as podium_app
from support.served import serve
from typer.testing import CliRunner
from worker.fixtures import Pipeline

from integration.serving_helpers import ServingApi, api_settings

__all__ = ["Podium", "api_url", "podium"]

Podium = Callable[..., Result]


@pytest.fixture(scope="module")
def api_url(pipeline: Pipeline) -> Iterator[str]:
    with serve(create_app(api_settings(pipeline.settings))) as url:
        yield url


@pytest.fixture
def podium(api_url: str, serving_api: ServingApi, tmp_path: Path) -> Podium:
    """podium(*args) -> the CLI's Result, as the module's operator (their own config file)."""
    token = serving_api.headers["Authorization"].split()[1]

    def run(*args: str) -> Result:
        env = {"PODIUM_URL": api_url, "PODIUM_TOKEN": token, "PODIUM_CONFIG": str(tmp_path / "config.json")}
        return CliRunner().invoke(podium_app, list(args), env=env)

    return run
