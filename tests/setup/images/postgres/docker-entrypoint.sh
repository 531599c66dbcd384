#!/bin/sh
# Entrypoint of devkit-local/postgres:15, written for devkit's offline test images.
#
# Honours the environment a postgres image is expected to take, so a blueprint written for
# `postgres:NN` runs unchanged (only the major version differs: this is 15):
#   POSTGRES_PASSWORD           password of POSTGRES_USER; required unless the auth method is trust
#   POSTGRES_USER               superuser to create (default postgres)
#   POSTGRES_DB                 database to create (default: the user's name)
#   POSTGRES_HOST_AUTH_METHOD   auth for network clients (default scram-sha-256)
#   PGDATA                      data directory (default /var/lib/postgresql/data)
# The cluster is initialised on the first start only; then the server runs in the foreground
# as the postgres user, in place of this script, so it receives the container's signals.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
case "${1:-}" in
  "" | -*) set -- postgres "$@" ;;
esac
[ "$1" = postgres ] || exec "$@"
shift

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "devkit-local/postgres: POSTGRES_PASSWORD is required" \
      "(or POSTGRES_HOST_AUTH_METHOD=trust to accept clients without one)" >&2
    exit 1
  fi
  secret=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$secret"
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    initdb --username="$user" --pwfile="$secret" --auth-local=trust --auth-host="$auth" >/dev/null
  else
    initdb --username="$user" --auth-local=trust --auth-host="$auth" >/dev/null
  fi
  rm -f "$secret"
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

  # Create the database on a server that listens on its Unix socket only.
  pg_ctl --silent --wait --options="-c listen_addresses=''" start
  if [ "$database" != postgres ]; then
    psql --quiet --set=ON_ERROR_STOP=1 --username="$user" --dbname=postgres \
      --set=name="$database" <<'SQL'
CREATE DATABASE :"name";
SQL
  fi
  pg_ctl --silent --wait --mode=fast stop
  echo "devkit-local/postgres: initialised $PGDATA (user $user, database $database)"
fi

exec postgres -c listen_addresses='*' "$@"
