#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, fully offline.
#
#   bash tests/setup/engine.sh
#
# Idempotent: if `docker info` answers, it does nothing. Otherwise it installs
# docker.io from Debian if dockerd is missing, starts dockerd detached in the
# background (log: $DEVKIT_DOCKERD_LOG, default /var/log/devkit-dockerd.log)
# and waits (bounded, $DEVKIT_DOCKERD_WAIT seconds, default 60) for the engine
# to answer. The daemon is left running on purpose: other steps need it.
# Must run as root (CI and the dev machines do).
set -euo pipefail

LOG="${DEVKIT_DOCKERD_LOG:-/var/log/devkit-dockerd.log}"
WAIT="${DEVKIT_DOCKERD_WAIT:-60}"
LOCK="${DEVKIT_ENGINE_LOCK:-/run/lock/devkit-engine.lock}"

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "[engine] $*"; }
die() { echo "[engine] ERROR: $*" >&2; exit 1; }

engine_up() { timeout 15 docker info >/dev/null 2>&1; }

# Fast path: nothing to do (no lock, no root needed).
if command -v docker >/dev/null 2>&1 && engine_up; then
  say "docker engine already answers ($(elapsed)s)"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "docker engine is not answering and starting it needs root (running as uid $(id -u))"

# Serialise concurrent runs: the second one waits, then sees the engine up.
mkdir -p "$(dirname "$LOCK")"
exec 9>"$LOCK"
if ! flock -w 300 9; then
  die "could not take $LOCK within 300 s (another engine.sh stuck?)"
fi

if command -v docker >/dev/null 2>&1 && engine_up; then
  say "docker engine came up while waiting for the lock ($(elapsed)s)"
  exit 0
fi

# Install the engine (Debian's docker.io: dockerd, containerd, runc, CLI).
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "dockerd not found: installing docker.io from Debian"
  t=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null \
    || die "apt-get install docker.io failed"
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is still not on PATH"
  say "installed docker.io in $(( $(date +%s) - t ))s"
  # The package's init script may have started a daemon already.
  if engine_up; then
    say "docker engine answers after install ($(elapsed)s)"
    exit 0
  fi
fi

started=""
if pidof dockerd >/dev/null 2>&1; then
  # Someone already started one (booting, or stuck): don't start a second one
  # on the same socket/data-root; just wait for it below.
  say "a dockerd process (pid $(pidof dockerd)) is already running: waiting for it"
else
  mkdir -p "$(dirname "$LOG")"
  {
    echo
    echo "===== devkit engine.sh starting dockerd at $(date -Is) ====="
  } >>"$LOG"
  # setsid + nohup: own session, immune to SIGHUP, no tty, outlives this script.
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
  started=$!
  say "started dockerd (pid $started), log: $LOG"
fi

deadline=$(( $(date +%s) + WAIT ))
while :; do
  if engine_up; then
    break
  fi
  if [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; then
    echo "[engine] ERROR: dockerd (pid $started) exited during start-up; last 20 lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "[engine] ERROR: docker engine did not answer 'docker info' within ${WAIT}s; last 20 lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.5
done

info=$(docker info --format 'engine {{.ServerVersion}}, storage {{.Driver}}, cgroup v{{.CgroupVersion}} ({{.CgroupDriver}})' 2>/dev/null || true)
say "docker engine ready in $(elapsed)s: $info"
