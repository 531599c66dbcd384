#!/usr/bin/env bash
# Build the testbed's resource metrics API: metrics-server from its upstream Go sources and its
# image, the way build-kube-router.sh builds the NetworkPolicy controller.
#
#   bash tests/k8s/testbed/build-metrics-server.sh              build what is missing, print the tag
#   bash tests/k8s/testbed/build-metrics-server.sh --print-tag  the tag the current recipe gives
#   bash tests/k8s/testbed/build-metrics-server.sh --binary-only step 1 only (needs no Docker)
#
# Steps, each skipped when its result exists:
#   1. metrics-server (sigs.k8s.io/metrics-server, `cmd/metrics-server`, static, `go install`, as
#      upstream's Makefile builds it) into <cache>/metrics-server-<versions hash>/bin/metrics-server
#      (written to a temp name, then renamed)
#   2. the image devkit-testbed/metrics-server:<version>-<key>: the testbed's base rootfs (imported
#      by build-node-image.sh, which must have run) + the binary. <key> hashes this script, the
#      versions, the binary and the base rootfs, so an unchanged recipe is reused.
# metrics-server.sh runs it in kube-system (metrics-server/metrics-server.yaml). Nothing here is
# committed; only the cache dir, Go's caches and the Docker engine are written. Needs Go and a
# Docker engine.
set -euo pipefail
shopt -s inherit_errexit

METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.8.0}
METRICS_SERVER_MODULE=sigs.k8s.io/metrics-server

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTBED_OUT=$(bash "$HERE/build-binaries.sh" --print-dir)
versions="metrics-server=$METRICS_SERVER_VERSION go=$(go env GOVERSION 2>/dev/null || echo none)"
OUT=$TESTBED_OUT/metrics-server-$(printf '%s\n' "$versions" | sha256sum | cut -c1-12)
BIN=$OUT/bin/metrics-server
export DOCKER_BUILDKIT=0   # Debian's engine 20.10: the classic builder

log() { printf '[metrics-server %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# step NAME CMD... : run a command, log its wall time, fail loudly.
step() {
  local name=$1; shift
  local t0=$SECONDS
  log "START $name"
  if ! "$@"; then die "$name (after $((SECONDS - t0)) s)"; fi
  log "DONE  $name in $((SECONDS - t0)) s"
}
sha() { sha256sum | cut -c1-12; }

base_rootfs() {  # the tag build-node-image.sh imported the base rootfs tarball as
  local tarballs key
  mapfile -t tarballs < <(find "$TESTBED_OUT/rootfs" -maxdepth 1 -name 'base-bookworm-*.tar' 2>/dev/null)
  [[ ${#tarballs[@]} -eq 1 ]] \
    || die "expected one base rootfs tarball in $TESTBED_OUT/rootfs, found ${#tarballs[@]}: run bash $HERE/build.sh"
  key=$(basename "${tarballs[0]}" .tar)
  echo "devkit-testbed/base-rootfs:${key#base-bookworm-}"
}
image_tag() {
  local key
  key=$({ cat "${BASH_SOURCE[0]}"; echo "$versions"; stat -c '%s %Y' "$BIN"; base_rootfs; } | sha)
  echo "devkit-testbed/metrics-server:$METRICS_SERVER_VERSION-$key"
}

# ---------------------------------------------------------------- 1. the binary
build_binary() {
  local tmp=$OUT/work/gobin pkg=k8s.io/client-go/pkg/version
  rm -rf "$tmp" && mkdir -p "$tmp" "$OUT/bin"
  # upstream's Makefile: CGO_ENABLED=0, -trimpath, the version in client-go's version package
  (cd "$OUT/work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOBIN=$tmp \
     go install -trimpath -ldflags "-s -w \
       -X $pkg.gitVersion=$METRICS_SERVER_VERSION -X $pkg.buildDate=devkit-testbed" \
       "$METRICS_SERVER_MODULE/cmd/metrics-server@$METRICS_SERVER_VERSION") \
    && mv "$tmp/metrics-server" "$BIN.tmp" && mv "$BIN.tmp" "$BIN" && rm -rf "$tmp"
}
build_binary_logged() {
  build_binary >"$OUT/logs/build.log" 2>&1 || { tail -n 30 "$OUT/logs/build.log" >&2; return 1; }
}

MODE=${1:-build}
case $MODE in build|--print-tag|--binary-only) ;; *) die "usage: $0 [--print-tag|--binary-only]" ;; esac
if [[ $MODE == --print-tag ]]; then
  [[ -x "$BIN" ]] || die "metrics-server is not built ($BIN): run bash $HERE/build.sh"
  image_tag
  exit 0
fi

mkdir -p "$OUT/work" "$OUT/logs"
printf '%s\n' "$versions" >"$OUT/versions.txt"
exec 9>"$OUT/.build.lock"
flock -w 900 9 || die "another build-metrics-server.sh holds $OUT/.build.lock"
T_ALL=$SECONDS
if [[ -x "$BIN" ]]; then log "SKIP  metrics-server $METRICS_SERVER_VERSION (exists: $BIN)"
else
  command -v go >/dev/null || die "go not found"
  step "build metrics-server $METRICS_SERVER_VERSION ($(go env GOVERSION); log $OUT/logs/build.log)" \
    build_binary_logged
fi
[[ $MODE == --binary-only ]] && { log "binary ready: $BIN"; exit 0; }

# ---------------------------------------------------------------- 2. the image
TAG=$(image_tag)
BASE=$(base_rootfs)
docker image inspect "$BASE" >/dev/null 2>&1 \
  || die "the base rootfs image $BASE is not in the engine: run bash $HERE/build.sh"
build_image() {
  local ctx=$OUT/work/image
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$BIN" "$ctx/metrics-server"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE
COPY metrics-server /usr/local/bin/metrics-server
RUN metrics-server --version
USER 1000
ENTRYPOINT ["/usr/local/bin/metrics-server"]
EOF
  local out
  out=$(docker build --network none --pull=false -q --label "devkit.testbed.recipe=${TAG##*-}" \
          -t "$TAG" "$ctx" 2>&1) || { echo "$out" >&2; return 1; }
  rm -rf "$ctx"
}
if docker image inspect "$TAG" >/dev/null 2>&1; then log "SKIP  $TAG (present)"
else
  step "image $TAG" build_image
  # images of older recipes: removed when no container uses them
  for old in $(docker images --format '{{.Repository}}:{{.Tag}}' devkit-testbed/metrics-server); do
    [[ $old == "$TAG" ]] || { docker rmi "$old" >/dev/null 2>&1 && log "removed the older $old"; } || true
  done
fi
log "ready in $((SECONDS - T_ALL)) s: $TAG ($(du -h "$BIN" | cut -f1) binary)"
echo "$TAG"
