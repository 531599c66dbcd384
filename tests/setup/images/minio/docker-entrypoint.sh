#!/bin/sh
# Entrypoint of devkit-local/minio, written for devkit's offline test images.
#
# Arguments that are not a program to run go to minio (`server /data --console-address :9001`
# is `minio server /data --console-address :9001`), so a blueprint written for a minio image
# runs unchanged. minio replaces this script and receives the container's signals.
set -eu

case "${1:-}" in
  "") set -- minio server /data ;;
  -* | server) set -- minio "$@" ;;
esac
exec "$@"
