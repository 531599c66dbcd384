#!/bin/sh
# Entrypoint of devkit-local/redis:7.0, written for devkit's offline test images.
#
# Runs redis-server (also when only flags are given) as the redis user with its data in /data.
# Debian builds redis with protected mode on, which refuses other hosts when no password is set;
# a redis image is expected to answer the containers on its network, so protected mode is turned
# off unless the arguments set it.
set -eu

case "${1:-}" in
  "" | -*) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
  case " $* " in
    *" --protected-mode "*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
