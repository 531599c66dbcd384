#!/usr/bin/env bash
# The Istio CRDs in the running testbed cluster (issue 16): no Istio control plane and no Envoy,
# only the CRDs, so the API server validates devkit's Istio objects (server-side dry-run).
#
#   istio.sh up      apply the CRDs of build-istio.sh, or find them applied (a label on each CRD
#                    names the version): `cluster.sh up` runs it
#   istio.sh status  the Istio CRDs installed and their version label
#
# Applied server-side as the field manager devkit-testbed. Reads KUBECONFIG and KUBECTL from the
# environment (cluster.sh up passes them), else from `cluster.sh env`. Progress goes to stderr.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WAIT=${DEVKIT_ISTIO_WAIT:-60}   # seconds for the CRDs to be Established
LABEL=devkit.dev/testbed-istio
CHECKED=(virtualservices.networking.istio.io destinationrules.networking.istio.io
         peerauthentications.security.istio.io)

log() { printf '[istio %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -z "${KUBECONFIG:-}" || -z "${KUBECTL:-}" ]]; then
  env_lines=$(bash "$HERE/cluster.sh" env)
  KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' <<<"$env_lines")
  KUBECTL=$(sed -n 's/^KUBECTL=//p' <<<"$env_lines")
fi
kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=30s "$@"; }

up() {
  local t0=$SECONDS crds version key found
  crds=$(bash "$HERE/build-istio.sh" --print-file)
  version=$(bash "$HERE/build-istio.sh" --version)
  [[ -s "$crds" ]] || die "no Istio CRD file $crds: run bash $HERE/build.sh (or build-istio.sh)"
  key=$(sha256sum "$crds" | cut -c1-12)   # a label value: the file's content
  found=$(kubectl get crd "${CHECKED[@]}" -o "jsonpath={range .items[*]}{.metadata.labels.devkit\.dev/testbed-istio}{' '}{end}" \
          2>/dev/null || true)
  if [[ "$found" == "$key $key $key " ]]; then
    log "the Istio CRDs of $version are installed"
    return 0
  fi
  kubectl apply --server-side --force-conflicts --field-manager=devkit-testbed -f "$crds" >/dev/null \
    || die "applying the Istio CRDs ($crds)"
  kubectl wait --for=condition=Established --timeout="${WAIT}s" "${CHECKED[@]/#/crd/}" >/dev/null \
    || die "the Istio CRDs were not Established within ${WAIT}s"
  kubectl label crd --overwrite -l app=istio-pilot "$LABEL=$key" >/dev/null \
    || die "labelling the Istio CRDs"
  log "Istio CRDs of $version applied in $((SECONDS - t0)) s"
}

case ${1:-} in
  up) up ;;
  status) kubectl get crd -l app=istio-pilot -L "$LABEL" >&2 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
