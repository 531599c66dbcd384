#!/usr/bin/env bash
# Make `docker compose` (v2) available, for benchmarks/up.py's side-by-side comparison.
#
# Debian bookworm has no compose v2; Debian sid's `docker-compose` package holds the v2 plugin
# binary. This downloads just that .deb with apt from the sid suite and unpacks the binary into
# ~/.docker/cli-plugins/ (DOCKER_CONFIG/cli-plugins when set). Nothing is installed with dpkg and
# the system's apt configuration is not touched: the sid index lives in a private, temporary apt
# state directory used only for this one `apt-get download`, and is removed afterwards.
# Idempotent: does nothing while `docker compose version` answers.
#
#   bash benchmarks/setup-compose.sh
set -euo pipefail

PLUGINS="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
if docker compose version >/dev/null 2>&1; then
  echo "[compose] $(docker compose version)"
  exit 0
fi

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/deb"
printf 'deb [signed-by=%s] %s sid main\n' "$KEYRING" "$MIRROR" >"$work/sources.list"
# Every path apt writes to points into $work; /etc/apt/sources.list(.d) are not read.
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=$work/no-parts"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::Status=/var/lib/dpkg/status"
  -o "Dir::Cache=$work/cache"
  -o "Dir::Cache::Archives=$work/archives"
  -o "APT::Get::List-Cleanup=false"
  -o "Debug::NoLocking=true"
  -o "APT::Sandbox::User=root"
)
mkdir -p "$work/no-parts" "$work/cache"
t=$(date +%s)
echo "[compose] fetching the sid index (private apt state in $work)"
apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1 || {
  cat "$work/update.log" >&2
  exit 1
}
# awk reads all of it (no early exit), so pipefail never sees a SIGPIPE.
version=$(apt-cache "${apt_opts[@]}" show docker-compose 2>/dev/null |
  awk '/^Version:/ && !v {v = $2} END {print v}')
case "$version" in
  2.*) ;;
  *)
    echo "[compose] sid's docker-compose is '${version:-absent}', not compose v2" >&2
    exit 1
    ;;
esac
(cd "$work/deb" && apt-get "${apt_opts[@]}" -q download "docker-compose=$version")
dpkg -x "$work"/deb/docker-compose_*.deb "$work/root"
binary=$(find "$work/root" -type f -name docker-compose -path '*cli-plugins*' | head -n 1)
if [ -z "$binary" ]; then
  binary=$(find "$work/root" -type f -name docker-compose | head -n 1)
fi
[ -n "$binary" ] || {
  echo "[compose] no docker-compose binary in the package" >&2
  exit 1
}
mkdir -p "$PLUGINS"
install -m 0755 "$binary" "$PLUGINS/docker-compose"
echo "[compose] $(docker compose version) (sid docker-compose $version, $(($(date +%s) - t))s)"
