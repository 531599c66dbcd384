#!/usr/bin/env bash
# Fill each examples/shop service's wheels/ with the wheels its requirements.txt needs, so its
# image builds without a package index (the Dockerfiles install from wheels/ when present).
#
# On this machine containers cannot reach PyPI over HTTPS on their own: outgoing TLS is
# intercepted by a local certificate authority that only the host trusts. The download runs in
# the service's own base image (so pip picks wheels for that Python exactly), with the host's CA
# bundle mounted read-only for that one command; nothing of it lands in any image.
# Idempotent: skipped while requirements.txt is unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=devkit-local/python:3.11-bookworm
CA=/etc/ssl/certs/ca-certificates.crt
for service in examples/shop/services/*/; do
  req="$service/requirements.txt"
  [ -f "$req" ] || continue
  stamp="$service/wheels/.requirements.sha256"
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "[wheels] $service: up to date"
    continue
  fi
  t=$(date +%s)
  rm -rf "$service/wheels"
  mkdir -p "$service/wheels"
  docker run --rm --user "$(id -u):$(id -g)" \
    -v "$PWD/$service:/work" -v "$CA:/host-ca.crt:ro" -e PIP_CERT=/host-ca.crt \
    -e HOME=/tmp -e PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$IMAGE" pip download --quiet --only-binary=:all: -d /work/wheels -r /work/requirements.txt
  echo "$want" >"$stamp"
  echo "[wheels] $service: $(find "$service/wheels" -name '*.whl' | wc -l) wheels in $(( $(date +%s) - t ))s"
done
