#!/usr/bin/env bash
# The testbed's gateway in the running cluster (issue 16): the Gateway API standard CRDs, Traefik
# as their implementation, the GatewayClass "traefik" and the Gateway devkit-gateway/testbed.
#
#   gateway.sh up      install, or find installed and reuse; wait (bounded) until Traefik is ready
#                      and the Gateway is Programmed. `cluster.sh up` runs it.
#   gateway.sh status  what runs (kubectl get)
#
# Built by build-gateway.sh (bash build.sh builds it too); the image reaches the kind node by
# `kind load` (cluster.sh load), only when the node does not hold it yet. Everything is applied
# server-side as the field manager devkit-testbed, so `up` on an installed gateway changes
# nothing. Reads KUBECONFIG and KUBECTL from the environment (cluster.sh up passes them), else
# from `cluster.sh env`. Progress goes to stderr.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAMESPACE=devkit-gateway
WAIT=${DEVKIT_GATEWAY_WAIT:-120}   # seconds for each wait below

export ADDON=gateway
# shellcheck source=tests/k8s/testbed/addon.sh
source "$HERE/addon.sh"

up() {
  local t0=$SECONDS out image crds
  out=$(bash "$HERE/build-gateway.sh" --print-dir)
  image=$(bash "$HERE/build-gateway.sh" --print-image 2>/dev/null) \
    || die "Traefik is not built: run bash $HERE/build.sh (or build-gateway.sh)"
  docker image inspect "$image" >/dev/null 2>&1 \
    || die "the image $image is not in the engine: run bash $HERE/build-gateway.sh"
  crds=$(find "$out/crds" -name 'gateway-api-*-standard.yaml' | head -n 1)
  [[ -s "$crds" ]] || die "no Gateway API CRD file in $out/crds: run bash $HERE/build-gateway.sh"

  apply -f "$crds" >/dev/null || die "applying the Gateway API CRDs ($crds)"
  kubectl wait --for=condition=Established --timeout="${WAIT}s" \
    crd/gatewayclasses.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io \
    crd/httproutes.gateway.networking.k8s.io crd/referencegrants.gateway.networking.k8s.io \
    >/dev/null || die "the Gateway API CRDs were not Established within ${WAIT}s"

  in_node "$image"

  sed "s#@IMAGE@#$image#" "$HERE/gateway/traefik.yaml" | apply -f - >/dev/null \
    || die "applying $HERE/gateway/traefik.yaml"
  kubectl -n "$NAMESPACE" rollout status deployment/traefik --timeout="${WAIT}s" >&2 \
    || { kubectl -n "$NAMESPACE" describe pods -l app=traefik | tail -n 30 >&2
         kubectl -n "$NAMESPACE" logs -l app=traefik --tail=30 >&2 || true
         die "Traefik did not become ready within ${WAIT}s"; }
  kubectl -n "$NAMESPACE" wait --for=condition=Programmed --timeout="${WAIT}s" gateway/testbed \
    >/dev/null || { kubectl -n "$NAMESPACE" get gateway testbed -o yaml | tail -n 40 >&2
                    die "the Gateway $NAMESPACE/testbed was not Programmed within ${WAIT}s"; }
  log "Traefik ($image) serves the Gateway $NAMESPACE/testbed; ready in $((SECONDS - t0)) s"
}

case ${1:-} in
  up) up ;;
  status) kubectl -n "$NAMESPACE" get deployment,service,pods,gateway,gatewayclass >&2 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
