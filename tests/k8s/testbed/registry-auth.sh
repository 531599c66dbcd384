#!/usr/bin/env bash
# The testbed's second registry: one that asks for credentials (htpasswd), beside the first on the
# kind network, for promotion across registries (tests/k8s/test_promote_registries.py).
#
#   registry-auth.sh up     start it (or reuse it when it runs the current registry image) and
#                           teach the node's containerd its name; prints KEY=VALUE lines below
#   registry-auth.sh env    the same KEY=VALUE lines, changing nothing
#   registry-auth.sh down   delete its container and the node's hosts.toml for it
#
# The nodes pull it as devkit-testbed-registry-auth:5000 (its container's name on the kind network,
# plain HTTP: /etc/containerd/certs.d/<name>/hosts.toml in the node, written by `up`); this machine
# reaches it as 127.0.0.1:5003 (the port it publishes on loopback). The two names differ, as an
# in-cluster registry's do: Kubernetes(registry=..., registry_from_host=...) maps one to the other.
# Credentials: user devkit, password testbed-only (a test-only secret; the bcrypt hash is below).
# KEY=VALUE lines: REGISTRY_AUTH (the nodes' name), REGISTRY_AUTH_FROM_HOST, REGISTRY_AUTH_USER,
# REGISTRY_AUTH_PASSWORD, REGISTRY_AUTH_CREATED (1 when `up` started it). The cluster must be up
# (cluster.sh up) and the registry image built (build.sh). Every wait is bounded.
# DEVKIT_TESTBED_CLUSTER=NAME: teach that cluster's node instead (the second cluster's, whose
# registry this is in the multi-cluster tests); `down` then removes only that node's hosts.toml
# besides the container.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(bash "$HERE/build-binaries.sh" --print-dir)
CONTAINER=devkit-testbed-registry-auth
# DEVKIT_TESTBED_CLUSTER: the cluster whose node learns the registry's name (as cluster.sh)
NODE=${DEVKIT_TESTBED_CLUSTER:-devkit-testbed}-control-plane
PORT=5003
USER_NAME=devkit
PASSWORD=testbed-only
# python3: crypt.crypt("testbed-only", crypt.mksalt(crypt.METHOD_BLOWFISH)); the registry takes bcrypt
HASH='$2b$12$hOBeJb2ElKE56B63mnZ8UOXkAdbymOK3GqoTJrR9cXzS.9IZ5qG/6'
HOSTS_DIR=/etc/containerd/certs.d/$CONTAINER:5000

log() { printf '[testbed %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
running() { [[ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }

registry_tag() {
  local tags
  mapfile -t tags < <(bash "$HERE/build-node-image.sh" --print-tags)
  [[ ${#tags[@]} -eq 2 ]] || die "could not compute the testbed image tags"
  docker image inspect "${tags[1]}" >/dev/null 2>&1 \
    || die "the registry image ${tags[1]} is not built: run bash $HERE/build.sh"
  echo "${tags[1]}"
}

print_env() {
  echo "REGISTRY_AUTH=$CONTAINER:5000"
  echo "REGISTRY_AUTH_FROM_HOST=127.0.0.1:$PORT"
  echo "REGISTRY_AUTH_USER=$USER_NAME"
  echo "REGISTRY_AUTH_PASSWORD=$PASSWORD"
}

up() {
  local t0=$SECONDS tag created=0 i code
  tag=$(registry_tag)
  running "$NODE" || die "the testbed cluster is not running: bash $HERE/cluster.sh up"
  if docker inspect "$CONTAINER" >/dev/null 2>&1 \
      && { [[ "$(docker inspect -f '{{.Image}}' "$CONTAINER")" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]] \
           || ! running "$CONTAINER" \
           || [[ "$(docker port "$CONTAINER" 5000 2>/dev/null | head -n 1)" != "127.0.0.1:$PORT" ]]; }; then
    docker rm -f "$CONTAINER" >/dev/null
  fi
  if ! docker inspect "$CONTAINER" >/dev/null 2>&1; then
    mkdir -p "$OUT/registry-auth"
    printf '%s:%s\n' "$USER_NAME" "$HASH" >"$OUT/registry-auth/htpasswd"
    docker run -d --name "$CONTAINER" --restart=no --network kind \
      -p "127.0.0.1:$PORT:5000" \
      -v "$OUT/registry-auth/htpasswd:/auth/htpasswd:ro" \
      -e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_REALM=devkit-testbed \
      -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd \
      "$tag" >/dev/null || die "could not start $CONTAINER"
    created=1
  fi
  # The node finds it by name through the engine's embedded DNS, which was seen to forget every
  # name on the kind network (Docker 20.10, while other tests tore swarm networks down): pin
  # its address in the node's /etc/hosts too (rewritten in place: it is a bind mount).
  local ip
  ip=$(docker inspect -f '{{.NetworkSettings.Networks.kind.IPAddress}}' "$CONTAINER")
  [[ -n "$ip" ]] || die "$CONTAINER has no address on the kind network"
  docker exec "$NODE" sh -c "grep -v ' $CONTAINER\$' /etc/hosts >/tmp/hosts.devkit; \
    echo '$ip $CONTAINER' >>/tmp/hosts.devkit; cat /tmp/hosts.devkit >/etc/hosts; rm /tmp/hosts.devkit"
  # containerd reads hosts.toml at each pull: no restart
  docker exec -i "$NODE" sh -c "mkdir -p '$HOSTS_DIR' && cat >'$HOSTS_DIR/hosts.toml'" <<EOF
# written by tests/k8s/testbed/registry-auth.sh: the authenticated testbed registry, plain HTTP
server = "http://$CONTAINER:5000"
[host."http://$CONTAINER:5000"]
  capabilities = ["pull", "resolve"]
EOF
  for i in $(seq 1 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/v2/" || true)
    [[ $code == 401 ]] && break
    [[ $i == 50 ]] && die "$CONTAINER did not ask for credentials on 127.0.0.1:$PORT within 10 s (HTTP $code): $(docker logs --tail 20 "$CONTAINER" 2>&1)"
    sleep 0.2
  done
  log "authenticated registry ready in $((SECONDS - t0)) s (created: $created)"
  print_env
  echo "REGISTRY_AUTH_CREATED=$created"
}

down() {
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  docker exec "$NODE" rm -rf "$HOSTS_DIR" >/dev/null 2>&1 || true
}

case ${1:-} in
  up) up ;;
  env) print_env ;;
  down) down ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
