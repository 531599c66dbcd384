#!/usr/bin/env bash
# Build the Kubernetes testbed, or find it built: the binaries (build-binaries.sh: Kubernetes,
# etcd, CoreDNS, kind, kwok, pause from upstream Go sources), then the kind node image and the
# registry image (build-node-image.sh), then the NetworkPolicy controller kube-router and its
# image (build-kube-router.sh). Every step is cached under
# ${DEVKIT_TESTBED_CACHE:-~/.cache/devkit-testbed}/<versions hash>/ and skipped when present, so a
# second run takes a second. A cold build takes about 30 minutes on 2 cores (see README.md).
#
#   bash tests/k8s/testbed/build.sh
#
# The binaries' full log (Go's download lines) goes to <cache>/logs/binaries.log; their step lines
# and the node image's progress are printed. Needs Go, a Docker engine (started with
# tests/setup/engine.sh if none answers), and root while a rootfs tarball is missing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
t0=$SECONDS

if ! timeout 15 docker info >/dev/null 2>&1; then bash "$REPO/tests/setup/engine.sh"; fi

OUT=$(bash "$HERE/build-binaries.sh" --print-dir)
mkdir -p "$OUT/logs"
# The two rootfs tarballs (debootstrap: network and disk) are made while the Go builds use the CPU.
bash "$HERE/build-binaries.sh" --versions   # what the rootfs step reads
bash "$HERE/build-node-image.sh" --rootfs-only >"$OUT/logs/rootfs.log" 2>&1 &
rootfs=$!
if ! bash "$HERE/build-binaries.sh" 2>&1 | tee "$OUT/logs/binaries.log" | grep --line-buffered '^\['; then
  echo "[testbed] ERROR: building the binaries failed; last lines of $OUT/logs/binaries.log:" >&2
  tail -n 30 "$OUT/logs/binaries.log" >&2
  wait "$rootfs" || true
  exit 1
fi
if ! wait "$rootfs"; then
  echo "[testbed] ERROR: making the rootfs tarballs failed; last lines of $OUT/logs/rootfs.log:" >&2
  tail -n 30 "$OUT/logs/rootfs.log" >&2
  exit 1
fi
bash "$HERE/build-node-image.sh" >/dev/null
bash "$HERE/build-gateway.sh" >/dev/null   # Traefik, its image, the Gateway API CRDs (issue 16)
bash "$HERE/build-istio.sh" >/dev/null     # the Istio CRDs (issue 16): checked against, never run
bash "$HERE/build-kube-router.sh" >/dev/null
bash "$HERE/monitoring.sh" crds-dir >/dev/null   # the Prometheus Operator's CRDs (issue 16)
echo "[testbed] built in $((SECONDS - t0)) s; cache $OUT ($(du -sh "$OUT" | cut -f1))"
