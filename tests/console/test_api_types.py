"""The console's API types (services/console/src/api/schema.d.ts) are generated from the API's OpenAPI
document; this fails when the committed file no longer matches what the app describes, so the console
and the API cannot drift apart silently. Regenerate with:

    .venv/bin/python -c "import json; from podium_api.app import create_app; \
from podium_api.settings import ApiSettings; print(json.dumps(create_app(ApiSettings()).openapi()))" \
> /tmp/openapi.json && (cd services/console && npm run gen:api -- /tmp/openapi.json)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from podium_api.app import create_app
from podium_api.settings import ApiSettings

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
GENERATOR = CONSOLE / "node_modules" / ".bin" / "openapi-typescript"


def test_committed_schema_matches_the_apps_openapi(tmp_path: Path) -> None:
    assert GENERATOR.exists(), "run `make setup` (npm ci in services/console) first"
    # openapi() needs no database or Redis: nothing connects until a request arrives.
    settings = ApiSettings(
        database_url="postgresql+psycopg://u:p@127.0.0.1:1/x", redis_url="redis://127.0.0.1:1/0"
    )
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(create_app(settings).openapi()))
    out = tmp_path / "schema.d.ts"
    subprocess.run([str(GENERATOR), str(spec), "-o", str(out)], check=True, capture_output=True, timeout=120)
    committed = (CONSOLE / "src" / "api" / "schema.d.ts").read_text()
    assert out.read_text() == committed, (
        "services/console/src/api/schema.d.ts is stale: regenerate it (see this test's docstring)"
    )
