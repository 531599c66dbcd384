#!/usr/bin/env bash
# The testbed's resource metrics API in the running cluster (issue 16): metrics-server v0.8.0 in
# kube-system, its RBAC and the APIService v1beta1.metrics.k8s.io, so HorizontalPodAutoscalers act
# and `kubectl top` / devkit's usage reports have numbers.
#
#   metrics-server.sh up      install, or find installed and reuse; wait (bounded) until the
#                             Deployment is rolled out and the APIService is Available and serves
#                             node metrics. `cluster.sh up` runs it.
#   metrics-server.sh status  what runs (kubectl get)
#
# Built by build-metrics-server.sh (bash build.sh builds it too); the image reaches the kind node
# by `kind load` only when the node does not hold it yet. Everything is applied server-side as the
# field manager devkit-testbed, so `up` on an installed metrics-server changes nothing. Reads
# KUBECONFIG and KUBECTL from the environment (cluster.sh up passes them), else from
# `cluster.sh env`. Progress goes to stderr.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WAIT=${DEVKIT_METRICS_SERVER_WAIT:-120}   # seconds for each wait below

export ADDON=metrics-server
# shellcheck source=tests/k8s/testbed/addon.sh
source "$HERE/addon.sh"

up() {
  local t0=$SECONDS image i
  image=$(bash "$HERE/build-metrics-server.sh" --print-tag 2>/dev/null) \
    || die "metrics-server is not built: run bash $HERE/build.sh (or build-metrics-server.sh)"
  docker image inspect "$image" >/dev/null 2>&1 \
    || die "the image $image is not in the engine: run bash $HERE/build-metrics-server.sh"
  in_node "$image"

  sed "s#@IMAGE@#$image#" "$HERE/metrics-server/metrics-server.yaml" | apply -f - >/dev/null \
    || die "applying $HERE/metrics-server/metrics-server.yaml"
  kubectl -n kube-system rollout status deployment/metrics-server --timeout="${WAIT}s" >&2 \
    || { kubectl -n kube-system describe pods -l app.kubernetes.io/name=metrics-server | tail -n 30 >&2
         kubectl -n kube-system logs -l app.kubernetes.io/name=metrics-server --tail=30 >&2 || true
         die "metrics-server did not become ready within ${WAIT}s"; }
  # registered only once it is ready: an unavailable aggregated API breaks discovery (and the
  # deletion of every namespace) for everyone using the cluster
  apply -f "$HERE/metrics-server/apiservice.yaml" >/dev/null \
    || die "applying $HERE/metrics-server/apiservice.yaml"
  kubectl wait --for=condition=Available --timeout="${WAIT}s" apiservice/v1beta1.metrics.k8s.io \
    >/dev/null || { kubectl get apiservice v1beta1.metrics.k8s.io -o yaml | tail -n 20 >&2
                    die "the APIService v1beta1.metrics.k8s.io was not Available within ${WAIT}s"; }
  # the first scrape lands one resolution (10 s) after the start: wait for the node's numbers
  for ((i = 0; i < WAIT / 2; i++)); do
    if kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes 2>/dev/null | grep -q '"usage"'; then
      log "metrics-server ($image) serves metrics.k8s.io/v1beta1; ready in $((SECONDS - t0)) s"
      return 0
    fi
    sleep 2
  done
  kubectl -n kube-system logs -l app.kubernetes.io/name=metrics-server --tail=30 >&2 || true
  die "metrics-server served no node metrics within ${WAIT}s"
}

case ${1:-} in
  up) up ;;
  status) kubectl -n kube-system get deployment,service,pods -l app.kubernetes.io/name=metrics-server >&2
          kubectl get apiservice v1beta1.metrics.k8s.io >&2 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
