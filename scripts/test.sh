#!/usr/bin/env bash
# `make test`: the whole suite. pytest exits 5 when it collected nothing (a typo in PYTEST_ARGS, a broken
# conftest); that must fail loudly, never pass as "no failures".
#
# The run gets a base temp dir of its own: by default every pytest run of one user shares
# /tmp/pytest-of-$USER and keeps only the newest three run folders, so a second pytest started meanwhile
# on the same machine would delete this run's Postgres data directories from under it.
set -uo pipefail
cd "$(dirname "$0")/.."
base=$(mktemp -d "${TMPDIR:-/tmp}/podium-test.XXXXXX")
trap 'rm -rf "$base"' EXIT
.venv/bin/pytest --basetemp="$base/t" "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "make test: pytest collected no tests — failing on purpose" >&2
  exit 1
fi
exit "$code"
