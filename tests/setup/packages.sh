#!/usr/bin/env bash
# Host packages the test suite needs besides the Docker engine: PostgreSQL and Redis server
# binaries, which examples/shop's own tests start on 127.0.0.1 when DATABASE_URL/REDIS_URL
# are not given. Idempotent; installs from Debian only when something is missing.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "[packages] postgresql and redis-server present"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "[packages] ERROR: installing ${missing[*]} needs root" >&2; exit 1; }
echo "[packages] installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
