"""The console's own unit tests (Vitest: the live store, the REST client, the infrastructure page's
scaling rules, the storage helpers) run as part of `make test`, so a broken rule in the browser fails the
suite like one on the server."""

from __future__ import annotations

import subprocess
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
VITEST = CONSOLE / "node_modules" / ".bin" / "vitest"


def test_vitest_passes() -> None:
    assert VITEST.exists(), "run `make setup` (npm ci in services/console) first"
    done = subprocess.run(
        [str(VITEST), "run", "--reporter=dot"],
        cwd=CONSOLE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"vitest failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
