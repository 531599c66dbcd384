#!/usr/bin/env bash
# Build the testbed's NetworkPolicy controller: kube-router from its upstream Go sources and its
# image, the way build-binaries.sh and build-node-image.sh build the rest of the testbed.
#
#   bash tests/k8s/testbed/build-kube-router.sh              build what is missing, print the tag
#   bash tests/k8s/testbed/build-kube-router.sh --print-tag  the tag the current recipe gives
#   bash tests/k8s/testbed/build-kube-router.sh --binary-only step 1 only (needs no Docker)
#
# Steps, each skipped when its result exists:
#   1. kube-router (github.com/cloudnativelabs/kube-router/v2, static, `go install`) into
#      <cache>/kube-router-<versions hash>/bin/kube-router (written to a temp name, then renamed)
#   2. the image devkit-testbed/kube-router:<version>-<key>: the testbed's base rootfs (glibc,
#      iptables; imported by build-node-image.sh, which must have run) + the binary + the `ipset`
#      binary and its library from Debian's ipset and libipset13 packages (unpacked with dpkg -x,
#      as the registry image gets docker-registry). <key> hashes this script, the binary and the
#      base rootfs, so an unchanged recipe is reused.
# cluster.sh runs it as a DaemonSet in firewall-only mode (node/kube-router.yaml). Nothing here is
# committed; only the cache dir, Go's caches and the Docker engine are written. Needs Go and a
# Docker engine.
set -euo pipefail
shopt -s inherit_errexit

KUBE_ROUTER_VERSION=${KUBE_ROUTER_VERSION:-v2.1.0}
KUBE_ROUTER_MODULE=github.com/cloudnativelabs/kube-router/v2

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTBED_OUT=$(bash "$HERE/build-binaries.sh" --print-dir)
versions="kube-router=$KUBE_ROUTER_VERSION go=$(go env GOVERSION 2>/dev/null || echo none)"
OUT=$TESTBED_OUT/kube-router-$(printf '%s\n' "$versions" | sha256sum | cut -c1-12)
BIN=$OUT/bin/kube-router
export DOCKER_BUILDKIT=0   # Debian's engine 20.10: the classic builder

log() { printf '[kube-router %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
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
  echo "devkit-testbed/kube-router:$KUBE_ROUTER_VERSION-$key"
}

# ---------------------------------------------------------------- 1. the binary
build_binary() {
  local tmp=$OUT/work/gobin
  rm -rf "$tmp" && mkdir -p "$tmp" "$OUT/bin"
  # upstream's Makefile: CGO_ENABLED=0, the version in pkg/version
  (cd "$OUT/work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOBIN=$tmp \
     go install -trimpath -ldflags "-s -w \
       -X $KUBE_ROUTER_MODULE/pkg/version.Version=$KUBE_ROUTER_VERSION \
       -X $KUBE_ROUTER_MODULE/pkg/version.BuildDate=devkit-testbed" \
       "$KUBE_ROUTER_MODULE/cmd/kube-router@$KUBE_ROUTER_VERSION") \
    && mv "$tmp/kube-router" "$BIN.tmp" && mv "$BIN.tmp" "$BIN" && rm -rf "$tmp"
}
build_binary_logged() {
  build_binary >"$OUT/logs/build.log" 2>&1 || { tail -n 30 "$OUT/logs/build.log" >&2; return 1; }
}

MODE=${1:-build}
case $MODE in build|--print-tag|--binary-only) ;; *) die "usage: $0 [--print-tag|--binary-only]" ;; esac
if [[ $MODE == --print-tag ]]; then
  [[ -x "$BIN" ]] || die "kube-router is not built ($BIN): run bash $HERE/build.sh"
  image_tag
  exit 0
fi

mkdir -p "$OUT/work" "$OUT/logs"
printf '%s\n' "$versions" >"$OUT/versions.txt"
exec 9>"$OUT/.build.lock"
flock -w 900 9 || die "another build-kube-router.sh holds $OUT/.build.lock"
T_ALL=$SECONDS
if [[ -x "$BIN" ]]; then log "SKIP  kube-router $KUBE_ROUTER_VERSION (exists: $BIN)"
else
  command -v go >/dev/null || die "go not found"
  step "build kube-router $KUBE_ROUTER_VERSION ($(go env GOVERSION); log $OUT/logs/build.log)" \
    build_binary_logged
fi
[[ $MODE == --binary-only ]] && { log "binary ready: $BIN"; exit 0; }

# ---------------------------------------------------------------- 2. the image
TAG=$(image_tag)
BASE=$(base_rootfs)
docker image inspect "$BASE" >/dev/null 2>&1 \
  || die "the base rootfs image $BASE is not in the engine: run bash $HERE/build.sh"
build_image() {
  local ctx=$OUT/work/image deb
  rm -rf "$ctx" && mkdir -p "$ctx/deb" "$ctx/root/usr/local/bin"
  # Debian's ipset and its library (the base rootfs has iptables): the packages' files only
  (cd "$ctx/deb" && apt-get download ipset libipset13 >/dev/null 2>&1) \
    || { apt-get update -qq && (cd "$ctx/deb" && apt-get download ipset libipset13 >/dev/null); } \
    || return 1
  for deb in "$ctx"/deb/*.deb; do dpkg -x "$deb" "$ctx/root" || return 1; done
  rm -rf "$ctx/root/usr/share"
  cp "$BIN" "$ctx/root/usr/local/bin/kube-router"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE
COPY root/ /
RUN ldconfig && ipset version | grep -q "^ipset v" && iptables --version && kube-router --version
ENTRYPOINT ["/usr/local/bin/kube-router"]
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
  for old in $(docker images --format '{{.Repository}}:{{.Tag}}' devkit-testbed/kube-router); do
    [[ $old == "$TAG" ]] || { docker rmi "$old" >/dev/null 2>&1 && log "removed the older $old"; } || true
  done
fi
log "ready in $((SECONDS - T_ALL)) s: $TAG ($(du -h "$BIN" | cut -f1) binary)"
echo "$TAG"
