#!/usr/bin/env bash
# Creates .venv with the `podium` command from the locked dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
.venv/bin/uv pip install -q --python .venv/bin/python -r requirements.lock
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
touch .venv/.installed
