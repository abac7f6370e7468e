"""The console's Vitest unit tests (the live store, the log buffer, the history's colour rules and column
order, the training form's params, the chart series, the infrastructure page's scaling rules, the storage
helpers) run as part of `make test`: a broken rule in the browser fails the suite like one on the server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
VITEST = CONSOLE / "node_modules" / ".bin" / "vitest"

# Vitest starts a bundler and a worker pool: on a loaded 2-core machine that alone can take a minute.
pytestmark = pytest.mark.timeout(600)


def test_console_unit_tests_pass() -> None:
    assert VITEST.exists(), "run `make setup` (npm ci in services/console) first"
    env = os.environ | {"CI": "1", "NO_COLOR": "1"}
    r = subprocess.run(
        [str(VITEST), "run", "--reporter=dot"],
        cwd=CONSOLE, env=env, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert r.returncode == 0, f"vitest failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    assert " passed" in r.stdout, r.stdout[-2000:]
