#!/usr/bin/env bash
# Installs the system programs Podium builds, runs or tests against when they are missing: make and
# Python's venv (to create .venv), PostgreSQL and Redis servers (the embedded defaults of `podium up`
# and the tests), kubectl (deploy/ rendering and kubectl conformance tests) and Chromium (the console's
# browser end-to-end tests drive Debian's build; Playwright never downloads one). Debian packages only;
# nothing is downloaded from anywhere else.
set -euo pipefail

need=()
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} — install them (sudo apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages start their own services; Podium runs its own servers on free ports instead.
for svc in redis-server postgresql; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
