#!/usr/bin/env bash
# The testbed's kind cluster, by hand or from the pytest fixture (tests/k8s/conftest.py).
#
#   cluster.sh up           create the cluster and its registry, or reuse them when they run the
#                           current images, and install the NetworkPolicy controller (netpol),
#                           the gateway (gateway.sh), the Istio CRDs (istio.sh),
#                           Prometheus (monitoring.sh) and metrics-server (metrics-server.sh);
#                           prints KEY=VALUE lines (below) on stdout
#   cluster.sh netpol       install kube-router's firewall (kube-router.yaml) as a DaemonSet, or
#                           find it installed, and wait until it runs
#   cluster.sh env          the same KEY=VALUE lines, changing nothing
#   cluster.sh kwok         run kwok for the fake nodes, in the foreground (stop it with Ctrl-C)
#   cluster.sh nodes        create (or update, whoever last changed them) the fake nodes of
#                           kwok-nodes.yaml
#   cluster.sh nodes-delete delete them
#   cluster.sh load IMAGE.. `kind load docker-image` into the cluster
#   cluster.sh registry-down  delete the registry container, unless another testbed cluster runs
#   cluster.sh down         delete the cluster, and the registries (registry-auth.sh's too) unless
#                           another testbed cluster runs
#
# DEVKIT_TESTBED_PLATFORM=0 makes `up` bring up the node and the registry only: no NetworkPolicy
# controller, gateway or Istio CRDs (the second cluster of the multi-cluster tests needs none).
#
# KEY=VALUE lines: KUBECONFIG, CLUSTER, NODE_IMAGE, REGISTRY (the name pods use: localhost:5001;
# the host pushes to 127.0.0.1:5001), CLUSTER_CREATED / REGISTRY_CREATED (1 when `up` started it),
# DOCKER_SHIM (1 when kind runs through docker-shim/), KUBECTL, KIND, NETPOL_IMAGE (kube-router's).
# The node and kube-router images must be built (bash tests/k8s/testbed/build.sh); `up` fails,
# never skips, when they are not. Every wait is bounded. Progress goes to stderr.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(bash "$HERE/build-binaries.sh" --print-dir)
BIN=$OUT/bin
# DEVKIT_TESTBED_CLUSTER names another cluster of the same images (its own node, the same
# registry container), for work that must not change the shared one
NAME=${DEVKIT_TESTBED_CLUSTER:-devkit-testbed}
REGISTRY_CONTAINER=devkit-testbed-registry   # node/registry-hosts.toml names it
REGISTRY_PORT=5001                           # node/registry-hosts.toml: localhost:5001
KUBECONFIG_FILE=$OUT/kubeconfig-$NAME
WAIT=${DEVKIT_TESTBED_WAIT:-240}             # seconds for `kind create` to see the node Ready
NETPOL_WAIT=${DEVKIT_TESTBED_NETPOL_WAIT:-120}  # seconds for kube-router's pod to be ready

log() { printf '[testbed %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

node_container() { echo "$NAME-control-plane"; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
container_image() { docker inspect -f '{{.Image}}' "$1" 2>/dev/null; }
running() { [[ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }

images() {  # NODE_TAG and REGISTRY_TAG of the current recipe; both must be built
  local tags
  mapfile -t tags < <(bash "$HERE/build-node-image.sh" --print-tags)
  [[ ${#tags[@]} -eq 2 ]] || die "could not compute the testbed image tags"
  NODE_TAG=${tags[0]}
  REGISTRY_TAG=${tags[1]}
  if ! image_id "$NODE_TAG" >/dev/null || ! image_id "$REGISTRY_TAG" >/dev/null; then
    die "the testbed images ($NODE_TAG, $REGISTRY_TAG) are not built: run bash $HERE/build.sh"
  fi
}

# kind runs `docker run --privileged`; where that fails here, it runs through the shim
DOCKER_SHIM=0
kind_path() {  # the probe's answer is kept per engine (its ID survives restarts)
  local memo
  memo=$OUT/.docker-shim-$(docker info -f '{{.ID}}' | tr -c 'A-Za-z0-9\n' -)
  if [[ -f "$memo" ]]; then DOCKER_SHIM=$(cat "$memo"); return; fi
  if docker run --rm --privileged --entrypoint /bin/true "$NODE_TAG" >/dev/null 2>&1; then
    DOCKER_SHIM=0
  else
    log "docker run --privileged fails on this engine: kind runs through $HERE/docker-shim"
    DOCKER_SHIM=1
  fi
  echo "$DOCKER_SHIM" >"$memo"
}
kind() {
  if [[ $DOCKER_SHIM == 1 ]]; then PATH=$HERE/docker-shim:$PATH "$BIN/kind" "$@"
  else "$BIN/kind" "$@"; fi
}
kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --request-timeout=20s "$@"; }

api_ready() {  # api_ready [SECONDS]: whether the API answers /readyz within SECONDS (default 1 try)
  local tmp deadline=$((SECONDS + ${1:-0}))
  # A file of its own: sessions running `up` side by side must not move each other's halves.
  tmp=$(mktemp "$KUBECONFIG_FILE.XXXXXX")
  while :; do
    if kind get kubeconfig --name "$NAME" >"$tmp" 2>/dev/null && mv "$tmp" "$KUBECONFIG_FILE" \
      && kubectl get --raw /readyz >/dev/null 2>&1; then
      rm -f "$tmp"
      return 0
    fi
    (( SECONDS < deadline )) || break
    sleep 2
  done
  rm -f "$tmp"
  return 1
}

print_env() {
  echo "KUBECONFIG=$KUBECONFIG_FILE"
  echo "CLUSTER=$NAME"
  echo "NODE_IMAGE=$NODE_TAG"
  echo "REGISTRY=localhost:$REGISTRY_PORT"
  echo "DOCKER_SHIM=$DOCKER_SHIM"
  echo "KUBECTL=$BIN/kubectl"
  echo "KIND=$BIN/kind"
}

up() {
  local t0=$SECONDS node id created=0 registry_created=0
  images
  netpol_image
  kind_path
  node=$(node_container)
  id=$(image_id "$NODE_TAG")
  # reuse: the same cluster name, running the current node image, answering
  if docker inspect "$node" >/dev/null 2>&1; then
    if [[ "$(container_image "$node")" != "$id" ]]; then
      local old
      old=$(container_image "$node")
      log "cluster $NAME runs another node image: deleting it"
      kind delete cluster --name "$NAME" >&2
      docker rmi "$old" >/dev/null 2>&1 || true   # an older build's image, unless still in use
    elif ! running "$node" || ! api_ready 90; then  # a loaded machine answers late: not dead
      log "cluster $NAME is not running or its API does not answer: deleting it"
      kind delete cluster --name "$NAME" >&2
    else
      log "reusing cluster $NAME ($NODE_TAG)"
    fi
  fi
  if ! docker inspect "$node" >/dev/null 2>&1; then
    log "creating cluster $NAME from $NODE_TAG"
    local tc=$SECONDS
    kind create cluster --name "$NAME" --image "$NODE_TAG" --config "$HERE/kind-config.yaml" \
      --kubeconfig "$KUBECONFIG_FILE" --wait "${WAIT}s" >&2 \
      || die "kind create cluster failed (node logs: docker logs $node; bash $0 down cleans up)"
    created=1
    log "cluster $NAME created in $((SECONDS - tc)) s"
  fi
  api_ready || die "the API server of $NAME does not answer (kubeconfig $KUBECONFIG_FILE)"

  # the registry, on the kind network (the node pulls from it by name), published on loopback
  if docker inspect "$REGISTRY_CONTAINER" >/dev/null 2>&1 \
      && { [[ "$(container_image "$REGISTRY_CONTAINER")" != "$(image_id "$REGISTRY_TAG")" ]] \
           || ! running "$REGISTRY_CONTAINER"; }; then
    local old_registry
    old_registry=$(container_image "$REGISTRY_CONTAINER")
    docker rm -f "$REGISTRY_CONTAINER" >/dev/null
    if [[ "$old_registry" != "$(image_id "$REGISTRY_TAG")" ]]; then
      docker rmi "$old_registry" >/dev/null 2>&1 || true   # an older build's image
    fi
  fi
  if ! docker inspect "$REGISTRY_CONTAINER" >/dev/null 2>&1; then
    docker run -d --name "$REGISTRY_CONTAINER" --restart=no --network kind \
      -p "127.0.0.1:$REGISTRY_PORT:5000" "$REGISTRY_TAG" >/dev/null \
      || die "could not start the registry container $REGISTRY_CONTAINER"
    registry_created=1
  fi
  local i
  for i in $(seq 1 50); do
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$REGISTRY_PORT/v2/" 2>/dev/null && break
    [[ $i == 50 ]] && die "the registry did not answer on 127.0.0.1:$REGISTRY_PORT within 10 s: $(docker logs --tail 20 "$REGISTRY_CONTAINER" 2>&1)"
    sleep 0.2
  done
  registry_name_in_node "$node"
  if [[ ${DEVKIT_TESTBED_PLATFORM:-1} != 0 ]]; then
    netpol
    KUBECONFIG=$KUBECONFIG_FILE KUBECTL=$BIN/kubectl CLUSTER=$NAME bash "$HERE/gateway.sh" up \
      || die "the gateway did not come up (bash $HERE/gateway.sh status)"
    KUBECONFIG=$KUBECONFIG_FILE KUBECTL=$BIN/kubectl bash "$HERE/istio.sh" up \
      || die "the Istio CRDs were not installed (bash $HERE/istio.sh status)"
    KUBECONFIG=$KUBECONFIG_FILE KUBECTL=$BIN/kubectl CLUSTER=$NAME bash "$HERE/monitoring.sh" up \
      || die "Prometheus did not come up (bash $HERE/monitoring.sh status)"
    KUBECONFIG=$KUBECONFIG_FILE KUBECTL=$BIN/kubectl CLUSTER=$NAME bash "$HERE/metrics-server.sh" up \
      || die "metrics-server did not come up (bash $HERE/metrics-server.sh status)"
  else
    log "DEVKIT_TESTBED_PLATFORM=0: no NetworkPolicy controller, gateway, Istio CRDs, Prometheus or metrics-server"
  fi
  log "cluster $NAME ready in $((SECONDS - t0)) s; export KUBECONFIG=$KUBECONFIG_FILE"
  print_env
  echo "NETPOL_IMAGE=$NETPOL_IMAGE"
  echo "CLUSTER_CREATED=$created"
  echo "REGISTRY_CREATED=$registry_created"
}

# The node pulls from the registry by its container name (node/registry-hosts.toml). Docker's
# embedded DNS on this engine was seen to stop answering a newly created container for names of
# containers attached to the kind network earlier (2026-11-30, after the docker tests' swarm
# init/leave; the cause is not established): where the node cannot resolve the registry's name,
# or resolves it to another address, it is pinned in the node's /etc/hosts.
registry_name_in_node() {
  local node=$1 ip found
  ip=$(docker inspect -f '{{(index .NetworkSettings.Networks "kind").IPAddress}}' "$REGISTRY_CONTAINER")
  found=$(docker exec "$node" getent hosts "$REGISTRY_CONTAINER" 2>/dev/null | awk '{print $1}' || true)
  [[ "$found" == "$ip" ]] && return 0
  docker exec "$node" sh -c "grep -v ' $REGISTRY_CONTAINER\$' /etc/hosts >/tmp/hosts.devkit; \
    cat /tmp/hosts.devkit >/etc/hosts; echo '$ip $REGISTRY_CONTAINER' >>/etc/hosts" \
    || die "could not pin $REGISTRY_CONTAINER in the node's /etc/hosts"
  log "the node resolved $REGISTRY_CONTAINER to '${found:-nothing}': pinned it to $ip in its /etc/hosts"
}

netpol_image() {  # the kube-router image of the current recipe; it must be built
  NETPOL_IMAGE=$(bash "$HERE/build-kube-router.sh" --print-tag) \
    || die "kube-router is not built: run bash $HERE/build.sh"
  image_id "$NETPOL_IMAGE" >/dev/null \
    || die "the kube-router image $NETPOL_IMAGE is not built: run bash $HERE/build.sh"
}

# kube-router's firewall, run as a cluster runs its policy controller: a DaemonSet from an image
# in the node (kind load; nothing is pulled). An unchanged DaemonSet is left as it is.
netpol() {
  local t0=$SECONDS node
  node=$(node_container)
  if ! docker exec "$node" ctr -n k8s.io images ls -q "name==docker.io/$NETPOL_IMAGE" | grep -q .; then
    local tl=$SECONDS
    kind load docker-image --name "$NAME" "$NETPOL_IMAGE" >&2 || die "kind load of $NETPOL_IMAGE failed"
    log "loaded $NETPOL_IMAGE into the node in $((SECONDS - tl)) s"
  fi
  sed "s#@IMAGE@#$NETPOL_IMAGE#" "$HERE/kube-router.yaml" \
    | kubectl apply --server-side --field-manager=devkit-testbed --force-conflicts -f - >/dev/null \
    || die "applying kube-router.yaml failed"
  if ! kubectl -n kube-system rollout status daemonset/kube-router --timeout="${NETPOL_WAIT}s" >/dev/null; then
    kubectl -n kube-system get pods -l k8s-app=kube-router -o wide >&2 || true
    kubectl -n kube-system logs -l k8s-app=kube-router --tail=30 >&2 || true
    die "kube-router's DaemonSet was not ready within $NETPOL_WAIT s"
  fi
  # ready means its controllers report healthy; its chains show it has synced the policies once
  local i
  for i in $(seq 1 50); do
    docker exec "$node" iptables -w 5 -S KUBE-ROUTER-FORWARD >/dev/null 2>&1 && break
    [[ $i == 50 ]] && die "kube-router runs but its KUBE-ROUTER-FORWARD chain is not in the node after 10 s"
    sleep 0.2
  done
  log "NetworkPolicy controller kube-router ($NETPOL_IMAGE) running in $((SECONDS - t0)) s"
}

# The registry containers serve every testbed cluster of this engine: they stay while another one
# (DEVKIT_TESTBED_CLUSTER) runs.
other_clusters() {
  docker ps --filter label=io.x-k8s.kind.role=control-plane \
      --format '{{.Label "io.x-k8s.kind.cluster"}} {{.Image}}' \
    | awk -v me="$NAME" '$1 != me && $2 ~ /^devkit-testbed\/node:/ { print $1 }'
}
registry_down() {  # registry_down [CONTAINER...]: default, the registry
  local others
  others=$(other_clusters)
  if [[ -n "$others" ]]; then
    log "the registries stay: the testbed cluster(s) $(echo "$others" | tr '\n' ' ')use them"
    return 0
  fi
  docker rm -f "${@:-$REGISTRY_CONTAINER}" >/dev/null 2>&1 || true
}

kwok_module_dir() {
  local version
  version=$(tr ' ' '\n' <"$OUT/versions.txt" | sed -n 's/^kwok=//p')
  (cd "$OUT/work" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$version") \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

run_kwok() {
  local stages s dir
  dir=$(kwok_module_dir)/kustomize/stage
  [[ -d "$dir" ]] || die "kwok's stage files not found in the Go module cache ('$dir')"
  stages=()
  for s in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f "$dir/$s" ]] || die "kwok stage file missing: $dir/$s"
    stages+=(--config "$dir/$s")
  done
  exec "$BIN/kwok" --kubeconfig "$KUBECONFIG_FILE" "${stages[@]}" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --cidr=10.250.0.1/16
}

case ${1:-} in
  up) up ;;
  netpol)
    images; netpol_image; kind_path
    api_ready || die "the cluster $NAME does not answer: run bash $0 up"
    netpol ;;
  env) images; kind_path; print_env ;;
  kwok) run_kwok ;;
  # Nodes left from an earlier run, NotReady while no kwok ran, carry the node controller's
  # unreachable taints, and a node's taints are one list with one owner: the testbed's file wins
  # (the controller taints them again if they stay NotReady once kwok runs).
  nodes) kubectl apply --server-side --force-conflicts --field-manager=devkit-testbed \
           -f "$HERE/kwok-nodes.yaml" >&2 ;;
  nodes-delete) kubectl delete --ignore-not-found --wait=false -f "$HERE/kwok-nodes.yaml" >&2 ;;
  load)
    shift
    [[ $# -gt 0 ]] || die "usage: $0 load IMAGE..."
    images; kind_path
    kind load docker-image --name "$NAME" "$@" >&2 ;;
  registry-down) registry_down ;;
  down)
    images; kind_path
    kind delete cluster --name "$NAME" >&2
    registry_down "$REGISTRY_CONTAINER" devkit-testbed-registry-auth   # registry-auth.sh's
    rm -f "$KUBECONFIG_FILE" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
