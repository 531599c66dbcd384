#!/usr/bin/env bash
# The Istio CRDs for the testbed (issue 16): manifests/charts/base/files/crd-all.gen.yaml of the Go
# module istio.io/istio, through the Go module proxy (`go mod download`). Only the CRDs: Istio's
# data plane is Envoy (C++), which cannot be had here, so devkit's Istio objects are checked by
# server-side dry-run against these CRDs (tests/k8s/test_istio.py), never served. Nothing fetched
# is committed: the module stays in Go's module cache, the CRD file in the cache directory below.
#
#   bash tests/k8s/testbed/build-istio.sh              extract what is missing, print the file
#   bash tests/k8s/testbed/build-istio.sh --print-file the CRD file of this version (no download)
#   bash tests/k8s/testbed/build-istio.sh --version    the Istio module version
#
# The proxy serves no tagged Istio release (its tags, "1.28.0", are not Go semantic versions):
# ISTIO_VERSION is the pseudo-version `istio.io/istio@latest` resolved to on 2026-11-30, commit
# eed52ebb66ad of 2026-08-27 (master after 1.30; the module's VERSION file says 1.31).
# tests/setup/vendor_crd_schemas.py vendors the schemas of the same version (a unit test checks).
# Cached in ${DEVKIT_TESTBED_CACHE:-~/.cache/devkit-testbed}/istio-<version>/crds/. Needs Go.
set -euo pipefail
shopt -s inherit_errexit

ISTIO_VERSION=${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}
CACHE_ROOT=${DEVKIT_TESTBED_CACHE:-$HOME/.cache/devkit-testbed}
OUT=$CACHE_ROOT/istio-$ISTIO_VERSION
CRDS=$OUT/crds/istio-crds.yaml

log() { printf '[istio %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

case ${1:-build} in
  --print-file) echo "$CRDS"; exit 0 ;;
  --version) echo "$ISTIO_VERSION"; exit 0 ;;
  build) ;;
  *) die "usage: $0 [--print-file|--version]" ;;
esac

if [[ -s "$CRDS" ]]; then log "SKIP  Istio CRDs (exist: $CRDS)"; echo "$CRDS"; exit 0; fi
command -v go >/dev/null || die "go not found"
mkdir -p "$OUT/crds"
exec 9>"$OUT/.build.lock"
flock -w 600 9 || die "another build-istio.sh holds $OUT/.build.lock"
t0=$SECONDS
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN_OVERRIDE:-local}
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
dir=$(cd "$OUT" && go mod download -json "istio.io/istio@$ISTIO_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "go mod download istio.io/istio@$ISTIO_VERSION"
src=$dir/manifests/charts/base/files/crd-all.gen.yaml
[[ -s "$src" ]] || die "no $src in the module"
{
  echo "# Istio CRDs: manifests/charts/base/files/crd-all.gen.yaml of the Go module"
  echo "# istio.io/istio@$ISTIO_VERSION (VERSION $(cat "$dir/VERSION" 2>/dev/null || echo unknown))."
  echo "# Copyright Istio Authors; Apache License 2.0 (LICENSE in that module). Copied by build-istio.sh."
  cat "$src"
} >"$CRDS.tmp" && mv "$CRDS.tmp" "$CRDS"
log "$(grep -c '^kind: CustomResourceDefinition' "$CRDS") CRDs in $CRDS, in $((SECONDS - t0)) s"
echo "$CRDS"
