#!/usr/bin/env bash
# Build the testbed's binaries from upstream Go sources (issue 9, part 1).
#
# Builds, with pinned versions, into
#   ${DEVKIT_TESTBED_CACHE:-$HOME/.cache/devkit-testbed}/<versions-hash>/bin/
#   - kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy
#     (k8s.io/kubernetes, scratch module with replace k8s.io/X => k8s.io/X <staging version>)
#   - etcd (go.etcd.io/etcd/server/v3, own scratch module: `go install` refuses its replaces)
#   - coredns (static), kind, kwok, pause (gcc -static from the kubernetes module)
# Idempotent: a binary that already exists is skipped; binaries are written to a temp name and
# renamed, so an interrupted run never leaves a half-written one. Each step logs its wall time.
# Nothing here is committed; only the cache dir above (and Go's own caches) are written.
#
# Note: step runs its command under `if`, where errexit is off, so step functions chain with
# && / || return 1 to fail loudly.
#
# Usage: build-binaries.sh [--download-only] [--print-dir]
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
K8S_STAGING_VERSION=${K8S_STAGING_VERSION:-v0.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
# CoreDNS: the version kubeadm v1.37.2 expects (cmd/kubeadm/app/constants CoreDNSVersion).
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.6}
# pause: built from build/pause/linux/pause.c of the kubernetes module; version string only.
PAUSE_VERSION=${PAUSE_VERSION:-3.10.2}
KIND_VERSION=${KIND_VERSION:-v0.33.0}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
KWOK_GOTOOLCHAIN=${KWOK_GOTOOLCHAIN:-go1.27.3}

K8S_BINARIES=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

versions="k8s=$K8S_VERSION staging=$K8S_STAGING_VERSION etcd=$ETCD_VERSION coredns=$COREDNS_VERSION kind=$KIND_VERSION kwok=$KWOK_VERSION kwok-go=$KWOK_GOTOOLCHAIN"
vhash=$(printf '%s\n' "$versions" | sha256sum | cut -c1-12)
CACHE_ROOT=${DEVKIT_TESTBED_CACHE:-$HOME/.cache/devkit-testbed}
OUT=$CACHE_ROOT/$vhash
BIN=$OUT/bin
WORK=$OUT/work

if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi
DOWNLOAD_ONLY=0
[[ "${1:-}" == "--download-only" ]] && DOWNLOAD_ONLY=1

mkdir -p "$BIN" "$WORK"
# Written whole (build-node-image.sh reads it, possibly while this runs), then what the
# versions mode asks for: nothing else.
printf '%s\n' "$versions" > "$OUT/versions.txt.$$" && mv "$OUT/versions.txt.$$" "$OUT/versions.txt"
[[ "${1:-}" == "--versions" ]] && exit 0

# Go settings: module mode, cgo on for the kubernetes binaries (CGO_ENABLED=0 would rebuild the
# whole std library cache), the local toolchain unless a step pins another one.
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN_OVERRIDE:-local}
export CGO_ENABLED=1
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "FAILED: $*"; exit 1; }
# step NAME CMD... : run a command, log its wall time, fail loudly.
step() {
  local name=$1; shift
  local t0=$SECONDS
  log "START $name"
  if ! "$@"; then die "$name (after $((SECONDS - t0)) s)"; fi
  log "DONE  $name in $((SECONDS - t0)) s"
}
have() { [[ -x "$BIN/$1" ]] && { log "SKIP  $1 (exists: $BIN/$1)"; return 0; }; return 1; }

command -v go >/dev/null || die "go not found"
log "versions: $versions"
log "output:   $BIN  ($(go version))"
T_ALL=$SECONDS

# ---------------------------------------------------------------- kubernetes
K8S_MOD=$WORK/kubernetes
K8S_MINOR=${K8S_VERSION#v1.}; K8S_MINOR=${K8S_MINOR%%.*}
K8S_LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$K8S_MINOR \
-X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
-X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$K8S_MINOR"

k8s_module_setup() {
  [[ -f "$K8S_MOD/.ready" ]] && { log "SKIP  kubernetes scratch module (ready)"; return 0; }
  mkdir -p "$K8S_MOD"
  local dir gover
  dir=$(cd "$K8S_MOD" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -f "$dir/go.mod" ]] || { echo "kubernetes module dir not found: '$dir'" >&2; return 1; }
  gover=$(awk '$1=="go"{print $2; exit}' "$dir/go.mod")
  {
    echo "module devkit.local/testbed/kubernetes"
    echo
    echo "go $gover"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # each `k8s.io/X => ./staging/src/k8s.io/X` line of kubernetes' go.mod
    awk '$2=="=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " '"$K8S_STAGING_VERSION"'"}' "$dir/go.mod"
    echo ")"
  } > "$K8S_MOD/go.mod"
  local n; n=$(grep -c "=> .* $K8S_STAGING_VERSION\$" "$K8S_MOD/go.mod" || true)
  log "kubernetes go $gover; $n staging replace lines"
  [[ "$n" -gt 0 ]] || { echo "no staging replace lines found" >&2; return 1; }
  local pkgs=() b
  for b in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b@$K8S_VERSION"); done
  (cd "$K8S_MOD" && go get "${pkgs[@]}") || return 1
  cp "$dir/build/pause/linux/pause.c" "$K8S_MOD/pause.c" || return 1
  touch "$K8S_MOD/.ready"
}

# k8s_build NAME...: one `go build` for all of them, so one binary's link and the last packages
# of its graph overlap with the others' compiles (7 builds one after another left a core idle).
k8s_build() {
  local tmp=$BIN/.k8s-build pkgs=() b
  rm -rf "$tmp" && mkdir -p "$tmp"
  for b in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$K8S_MOD" && go build -trimpath -ldflags "$K8S_LDFLAGS" -o "$tmp/" "${pkgs[@]}") || return 1
  for b in "$@"; do mv "$tmp/$b" "$BIN/$b" || return 1; done
  rm -rf "$tmp"
}

# ---------------------------------------------------------------- etcd / coredns (scratch modules)
scratch_setup() {   # scratch_setup NAME MODULE@VERSION
  local name=$1 modver=$2 d=$WORK/$1
  [[ -f "$d/.ready" ]] && { log "SKIP  $name scratch module (ready)"; return 0; }
  mkdir -p "$d"
  (cd "$d" && { [[ -f go.mod ]] || go mod init "devkit.local/testbed/$name"; } && go get "$modver") || return 1
  touch "$d/.ready"
}
scratch_build() {   # scratch_build NAME PACKAGE OUTNAME [extra go build args]
  local name=$1 pkg=$2 out=$3; shift 3
  (cd "$WORK/$name" && go build -trimpath "$@" -o "$BIN/.$out.tmp" "$pkg") && mv "$BIN/.$out.tmp" "$BIN/$out"
}

gobin_install() {   # gobin_install OUTNAME MODULE/PKG@VERSION
  local out=$1 pkgver=$2 tmp=$WORK/gobin-$1
  mkdir -p "$tmp"
  (cd "$WORK" && GOFLAGS=-buildvcs=false GOBIN=$tmp go install "$pkgver") && mv "$tmp/$out" "$BIN/$out"
}

# ---------------------------------------------------------------- phase 1: downloads
step "download: kubernetes module + go get ${#K8S_BINARIES[@]} cmd packages" k8s_module_setup
step "download: etcd $ETCD_VERSION scratch module" scratch_setup etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
step "download: coredns $COREDNS_VERSION scratch module" scratch_setup coredns "github.com/coredns/coredns@$COREDNS_VERSION"
if [[ $DOWNLOAD_ONLY == 1 ]]; then log "download-only: done in $((SECONDS - T_ALL)) s"; exit 0; fi

# ---------------------------------------------------------------- phase 2: kubernetes (longest)
todo=()
for b in "${K8S_BINARIES[@]}"; do have "$b" || todo+=("$b"); done
[[ ${#todo[@]} -eq 0 ]] || step "build ${todo[*]}" k8s_build "${todo[@]}"
have pause || step "build pause (gcc -static)" gcc -Os -static -Wall -Werror \
  -DVERSION="v$PAUSE_VERSION-devkit" -o "$BIN/pause" "$K8S_MOD/pause.c"

# ---------------------------------------------------------------- phase 3: the rest
have etcd || step "build etcd $ETCD_VERSION" scratch_build etcd go.etcd.io/etcd/server/v3 etcd \
  -ldflags "-s -w"
coredns_build() { CGO_ENABLED=0 scratch_build coredns github.com/coredns/coredns coredns -ldflags "-s -w"; }
kwok_install() { GOTOOLCHAIN=$KWOK_GOTOOLCHAIN gobin_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"; }
have coredns || step "build coredns $COREDNS_VERSION (static)" coredns_build
have kind || step "build kind $KIND_VERSION" gobin_install kind "sigs.k8s.io/kind@$KIND_VERSION"
have kwok || step "build kwok $KWOK_VERSION ($KWOK_GOTOOLCHAIN)" kwok_install

# ---------------------------------------------------------------- check
missing=()
for b in "${K8S_BINARIES[@]}" pause etcd coredns kind kwok; do [[ -x "$BIN/$b" ]] || missing+=("$b"); done
[[ ${#missing[@]} -eq 0 ]] || die "missing after build: ${missing[*]}"
"$BIN/kubeadm" version -o short | grep -qx "$K8S_VERSION" || die "kubeadm does not report $K8S_VERSION"
log "all binaries present in $BIN (total $((SECONDS - T_ALL)) s)"
touch "$OUT/.binaries-ready"
