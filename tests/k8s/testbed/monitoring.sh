#!/usr/bin/env bash
# The testbed's Prometheus in the running cluster (issue 16): Debian's prometheus 2.42 (the
# offline image devkit-local/prometheus:2.42 that tests/setup/images.sh builds) in the namespace
# devkit-monitoring, finding pods by their prometheus.io/* annotations (through a discovery
# sidecar on the python base image: Debian's build has no kubernetes_sd) and scraping Traefik's
# metrics, every 2 s (monitoring/prometheus.yaml). It also installs the Prometheus Operator's
# ServiceMonitor and PodMonitor CRDs (v0.85.0, from the operator's Go module through the Go module
# proxy; no operator runs), so the API server validates the monitors devkit renders.
#
#   monitoring.sh up      install, or find installed and reuse; wait (bounded) until Prometheus
#                         is ready. `cluster.sh up` runs it.
#   monitoring.sh crds-dir  download the operator's module (build.sh runs it); print its CRD folder
#   monitoring.sh status  what runs (kubectl get)
#
# The image reaches the kind node by `kind load` (cluster.sh load), only when the node does not
# hold it yet. Everything is applied server-side as the field manager devkit-testbed, so `up` on
# an installed Prometheus changes nothing; a changed configuration rolls its pod (the pod
# template carries the file's hash). Reads KUBECONFIG and KUBECTL from the environment
# (cluster.sh up passes them), else from `cluster.sh env`. Progress goes to stderr.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
NAMESPACE=devkit-monitoring
IMAGE=devkit-local/prometheus:2.42
PYTHON_IMAGE=devkit-local/python:3.11-bookworm
MANIFEST=$HERE/monitoring/prometheus.yaml
WAIT=${DEVKIT_MONITORING_WAIT:-120}   # seconds for the rollout
OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator
OPERATOR_VERSION=v0.85.0

export ADDON=monitoring
# shellcheck source=tests/k8s/testbed/addon.sh
source "$HERE/addon.sh"

# node_image IMAGE NAME: IMAGE in the node under a tag of its image ID (devkit-testbed/NAME:<id>),
# so a rebuilt image is loaded again; prints that tag.
node_image() {
  local image=$1 id tag
  id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) \
    || die "the image $image is not in the engine: run bash $REPO/tests/setup/images.sh"
  id=${id#sha256:}
  tag=devkit-testbed/$2:${id:0:16}
  docker tag "$image" "$tag"
  in_node "$tag"
  echo "$tag"
}

# The folder of the operator's CRDs (example/prometheus-operator-crd-full/ of its module, as its
# own bundle ships them), downloaded into Go's module cache once (build.sh does it).
crds_dir() {
  local dir work
  work=$(mktemp -d)
  dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$OPERATOR_MODULE@$OPERATOR_VERSION" \
          | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
    || { rm -rf "$work"; die "go mod download $OPERATOR_MODULE@$OPERATOR_VERSION failed"; }
  rm -rf "$work"
  dir=$dir/example/prometheus-operator-crd-full
  [[ -s $dir/monitoring.coreos.com_servicemonitors.yaml ]] || die "no CRDs in '$dir'"
  echo "$dir"
}

# The ServiceMonitor and PodMonitor CRDs, Established.
operator_crds() {
  local dir
  dir=$(crds_dir)
  apply -f "$dir/monitoring.coreos.com_servicemonitors.yaml" \
    -f "$dir/monitoring.coreos.com_podmonitors.yaml" >/dev/null \
    || die "applying the ServiceMonitor and PodMonitor CRDs"
  kubectl wait --for=condition=Established --timeout="${WAIT}s" \
    crd/servicemonitors.monitoring.coreos.com crd/podmonitors.monitoring.coreos.com >/dev/null \
    || die "the ServiceMonitor and PodMonitor CRDs were not Established within ${WAIT}s"
}

up() {
  local t0=$SECONDS tag python hash
  tag=$(node_image "$IMAGE" prometheus)
  python=$(node_image "$PYTHON_IMAGE" python)
  operator_crds
  hash=$(sha256sum <"$MANIFEST" | cut -c1-16)
  sed -e "s#@IMAGE@#$tag#" -e "s#@PYTHON_IMAGE@#$python#" -e "s#@CONFIG_HASH@#$hash#" \
      -e "s#@NODE@#$CLUSTER-control-plane#" "$MANIFEST" \
    | apply -f - >/dev/null \
    || die "applying $MANIFEST"
  kubectl -n "$NAMESPACE" rollout status deployment/prometheus --timeout="${WAIT}s" >&2 \
    || { kubectl -n "$NAMESPACE" describe pods -l app=prometheus | tail -n 30 >&2
         kubectl -n "$NAMESPACE" logs -l app=prometheus --tail=30 >&2 || true
         die "Prometheus did not become ready within ${WAIT}s"; }
  log "Prometheus ($tag) ready in $((SECONDS - t0)) s: http://prometheus.$NAMESPACE.svc:9090"
}

case ${1:-} in
  up) up ;;
  crds-dir) crds_dir ;;
  status) kubectl -n "$NAMESPACE" get deployment,service,pods >&2 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
