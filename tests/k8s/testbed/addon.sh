# shellcheck shell=bash
# Sourced by the scripts that install a part of the testbed into the running cluster (gateway.sh,
# monitoring.sh), after they set ADDON (their log prefix) and HERE (this folder): log and die,
# KUBECONFIG and KUBECTL from the environment (cluster.sh up passes them) else from
# `cluster.sh env`, CLUSTER, and kubectl and a server-side apply as the field manager
# devkit-testbed (so applying an unchanged object changes nothing).
log() { printf '[%s %s] %s\n' "$ADDON" "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -z "${KUBECONFIG:-}" || -z "${KUBECTL:-}" ]]; then
  env_lines=$(bash "$HERE/cluster.sh" env)
  KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' <<<"$env_lines")
  KUBECTL=$(sed -n 's/^KUBECTL=//p' <<<"$env_lines")
fi
CLUSTER=${CLUSTER:-devkit-testbed}
kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=20s "$@"; }
apply() { kubectl apply --server-side --force-conflicts --field-manager=devkit-testbed "$@"; }

# in_node IMAGE: `kind load` IMAGE (a tag of the engine) into the node unless the node holds it.
# containerd names a docker image docker.io/<name>.
in_node() {
  local ref=docker.io/$1 tl=$SECONDS
  if docker exec "$CLUSTER-control-plane" ctr -n k8s.io images ls -q "name==$ref" 2>/dev/null \
      | grep -qx "$ref"; then
    log "the node holds $1"
  else
    bash "$HERE/cluster.sh" load "$1" >&2 || die "kind load $1"
    log "loaded $1 into the node in $((SECONDS - tl)) s"
  fi
}
