#!/usr/bin/env bash
# `make test`: the whole suite. pytest exits 5 when it collected nothing (a typo in PYTEST_ARGS, a broken
# conftest); that must fail loudly, never pass as "no failures".
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pytest "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "make test: pytest collected no tests — failing on purpose" >&2
  exit 1
fi
exit "$code"
