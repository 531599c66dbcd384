#!/usr/bin/env bash
# A real image registry on 127.0.0.1:5000 for the tests that push (Debian's docker-registry, the
# CNCF distribution registry), with its own config: filesystem storage, loopback only, no auth.
# Idempotent: does nothing when the registry already answers.
set -euo pipefail

ADDR=127.0.0.1:5000
ROOT=${DEVKIT_REGISTRY_ROOT:-/var/lib/devkit-registry}
LOG=/var/log/devkit-registry.log

answers() { curl -fsS -o /dev/null --max-time 2 "http://$ADDR/v2/" 2>/dev/null; }

if answers; then
  echo "[registry] answers on $ADDR"
  exit 0
fi
if ! command -v docker-registry >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "[registry] ERROR: installing docker-registry needs root" >&2; exit 1; }
  echo "[registry] installing docker-registry from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi
mkdir -p "$ROOT"
cat >"$ROOT/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $ROOT/data
  delete:
    enabled: true
http:
  addr: $ADDR
CONFIG
setsid nohup docker-registry serve "$ROOT/config.yml" >>"$LOG" 2>&1 </dev/null &
for _ in $(seq 1 50); do
  if answers; then
    echo "[registry] started on $ADDR (storage $ROOT/data, log $LOG)"
    exit 0
  fi
  sleep 0.2
done
echo "[registry] ERROR: did not answer on $ADDR within 10 s; last log lines:" >&2
tail -n 20 "$LOG" >&2
exit 1
