#!/bin/sh
# Entrypoint of devkit-local/rabbitmq:3.10, written for devkit's offline test images.
#
# Takes the environment a rabbitmq image is expected to take, so a blueprint written for
# `rabbitmq:3` runs unchanged (only the version differs: this is Debian's 3.10):
#   RABBITMQ_DEFAULT_USER   user created on the first start (default guest)
#   RABBITMQ_DEFAULT_PASS   its password (default guest)
#   RABBITMQ_DEFAULT_VHOST  virtual host created on the first start (default /)
#   RABBITMQ_NODENAME       node name (default rabbit@<hostname>); data lives under it
# The default user may connect from other hosts. Logs go to the console. The server runs in the
# foreground as the rabbitmq user, in place of this script, so it receives the container's signals.
set -eu

case "${1:-}" in
  "" | -*) set -- rabbitmq-server "$@" ;;
esac
[ "$1" = rabbitmq-server ] || exec "$@"

if [ "$(id -u)" = 0 ]; then
  config=/etc/rabbitmq/rabbitmq.conf
  {
    echo "# written by docker-entrypoint.sh at container start"
    echo "listeners.tcp.default = 5672"
    echo "loopback_users = none"
    echo "log.console = true"
    echo "log.console.level = info"
    echo "log.file = false"
    echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
    echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
    echo "default_vhost = ${RABBITMQ_DEFAULT_VHOST:-/}"
  } >"$config"
  chown rabbitmq:rabbitmq "$config"
  chmod 0600 "$config"

  # The Erlang cookie exists before anything can run a CLI tool (a health check as root would
  # otherwise create it, owned by root, and lock the server out of it).
  mkdir -p "$HOME"
  cookie=$HOME/.erlang.cookie
  if [ ! -s "$cookie" ]; then
    od -An -N20 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F >"$cookie"
  fi
  chown -R rabbitmq:rabbitmq "$HOME"
  chmod 0400 "$cookie"
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$@"
fi
exec "$@"
