"""The console's API types (services/console/src/api/schema.d.ts) are generated from the API's OpenAPI
document; this fails when the committed file no longer matches what the app describes, so the console
and the API cannot drift apart silently. Regenerate with the command in scripts/openapi.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "services" / "console"
GENERATOR = CONSOLE / "node_modules" / ".bin" / "openapi-typescript"


def test_committed_schema_matches_the_apps_openapi(tmp_path: Path) -> None:
    assert GENERATOR.exists(), "run `make setup` (npm ci in services/console) first"
    # The document comes from a fresh interpreter: this worker's registry may hold test-only command kinds.
    spec = tmp_path / "openapi.json"
    with spec.open("w") as out_file:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "openapi.py")], check=True, stdout=out_file, timeout=120
        )
    out = tmp_path / "schema.d.ts"
    subprocess.run([str(GENERATOR), str(spec), "-o", str(out)], check=True, capture_output=True, timeout=120)
    committed = (CONSOLE / "src" / "api" / "schema.d.ts").read_text()
    assert out.read_text() == committed, (
        "services/console/src/api/schema.d.ts is stale: regenerate it (see scripts/openapi.py)"
    )
