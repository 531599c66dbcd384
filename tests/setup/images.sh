#!/usr/bin/env bash
# Build the local base images that the test suite and the example use, fully
# offline (no image can be pulled here: only Debian's apt mirror is reachable).
#
#   bash tests/setup/images.sh
#
#   devkit-local/python:3.11-bookworm  debootstrap minbase + python3, pip, venv
#   devkit-local/postgres:15           + postgresql-15, official env contract
#   devkit-local/redis:7.0             + redis-server
#   devkit-local/rabbitmq:3.10         + rabbitmq-server (Debian has 3.10)
#   devkit-local/nginx:1.22            + nginx (Debian has 1.22)
#   devkit-local/prometheus:2.42       + prometheus (Debian has 2.42)
#   devkit-local/minio:$MINIO_TAG      + MinIO built from source with `go install`
#
# Idempotent and fast when warm: each final image carries a label
# devkit.recipe=<hash of its recipe> and is skipped when present with the same
# hash. Otherwise, per image (they run in parallel):
#   debootstrap -> rootfs tarball (cached under $DEVKIT_CACHE/images, outside
#   the repo) -> docker import -> (all but python) docker build --network none
# MinIO is not packaged by Debian: its binary is built with
# `go install github.com/minio/minio@$DEVKIT_MINIO_VERSION` (about 5 minutes on
# 2 cores, needs Go >= 1.24 and the Go module proxy) and cached under
# $DEVKIT_CACHE/minio/VERSION/, outside the repo; the version is part of the
# recipe, so changing it rebuilds the image.
# A machine whose Docker data was wiped re-imports from the tarballs in
# seconds. Changing a recipe (package list, rootfs post-processing, Dockerfile,
# entrypoint) changes the hash and rebuilds what depends on it.
#
# Env: DEVKIT_CACHE (default ~/.cache/devkit), DEVKIT_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), DEVKIT_MINIO_VERSION (default: the version
# `@latest` resolved to when this recipe was written). Must run as root when
# something is missing.
set -euo pipefail
shopt -s inherit_errexit

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${DEVKIT_CACHE:-$HOME/.cache/devkit}"
CACHE="$CACHE_ROOT/images"
MIRROR="${DEVKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# The images are built with the classic builder: Debian's engine 20.10 has no
# buildx, and a newer CLI would otherwise nag or try BuildKit.
export DOCKER_BUILDKIT=0

T0=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "[images] $*"; }
die() { echo "[images] ERROR: $*" >&2; exit 1; }

PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- recipes
# name | final tag | debootstrap --include | build context dir (empty: import only)
# MinIO from source: the module version that `go install github.com/minio/minio@latest`
# resolved to when this recipe was written (pinned, so every machine builds the same binary;
# DEVKIT_MINIO_VERSION=latest takes the newest). The tag names the commit it was built from.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION="${DEVKIT_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
MINIO_TAG=$(echo "$MINIO_VERSION" | sed -E 's/^v0\.0\.0-([0-9]{8})[0-9]{6}-([0-9a-f]{8})[0-9a-f]*$/\1-\2/')

IMAGES=(python postgres redis rabbitmq nginx prometheus minio)
declare -A TAG=(
  [python]=devkit-local/python:3.11-bookworm
  [postgres]=devkit-local/postgres:15
  [redis]=devkit-local/redis:7.0
  [rabbitmq]=devkit-local/rabbitmq:3.10
  [nginx]=devkit-local/nginx:1.22
  [prometheus]=devkit-local/prometheus:2.42
  [minio]=devkit-local/minio:$MINIO_TAG
)
# shellcheck disable=SC2054  # commas: debootstrap's --include list
declare -A PKGS=(
  [python]=python3,python3-pip,python3-venv,python-is-python3,ca-certificates
  [postgres]=postgresql-15
  [redis]=redis-server
  [rabbitmq]=rabbitmq-server
  [nginx]=nginx
  [prometheus]=prometheus
  [minio]=ca-certificates
)
# Imported rootfs that the Dockerfile builds FROM (python is imported as final).
declare -A BASE=(
  [python]=""
  [postgres]=devkit-local/postgres-rootfs:15
  [redis]=devkit-local/redis-rootfs:7.0
  [rabbitmq]=devkit-local/rabbitmq-rootfs:3.10
  [nginx]=devkit-local/nginx-rootfs:1.22
  [prometheus]=devkit-local/prometheus-rootfs:2.42
  [minio]=devkit-local/minio-rootfs:bookworm
)
declare -A CONTEXT=(
  [python]=""
  [postgres]="$HERE/images/postgres"
  [redis]="$HERE/images/redis"
  [rabbitmq]="$HERE/images/rabbitmq"
  [nginx]="$HERE/images/nginx"
  [prometheus]="$HERE/images/prometheus"
  [minio]="$HERE/images/minio"
)
# `docker import --change` lines of the python image (one per line). pip may
# install into the system python (as in the official image, where pip install
# in a Dockerfile RUN just works): the PEP 668 marker is removed from the
# rootfs and PIP_BREAK_SYSTEM_PACKAGES=1 is set for pip versions that look
# elsewhere.
PYTHON_CHANGES="ENV PATH=$PATH_ENV
ENV LANG=C.UTF-8
ENV PIP_BREAK_SYSTEM_PACKAGES=1
CMD [\"python3\"]"

# Post-processing of a fresh debootstrap rootfs, before it is tarred and cached.
# (The text of postprocess_common and postprocess_NAME is part of that image's
# cache key: edit one and the tarballs that depend on it are remade.)
postprocess_common() {
  local root=$1
  # no package caches, lists or logs of the build machine in the image
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/var/log/bootstrap.log
  mkdir -p "$root"/var/lib/apt/lists/partial
  # slim, like Debian's -slim images that the official postgres/redis images
  # build on: no docs (but the copyright files), man pages or translations,
  # now or for packages a derived image installs later
  find "$root"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
  find "$root"/usr/share/doc -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  cat >"$root"/etc/dpkg/dpkg.cfg.d/docker-slim <<EOS
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOS
  # no daemon starts from apt-get install in a derived image's RUN step
  printf '#!/bin/sh\nexit 101\n' >"$root"/usr/sbin/policy-rc.d
  chmod 0755 "$root"/usr/sbin/policy-rc.d
  # docker bind-mounts these at run time; don't ship the build host's values
  : >"$root"/etc/resolv.conf
  echo localhost >"$root"/etc/hostname
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root"/etc/hosts
  cat >"$root"/etc/apt/sources.list <<EOS
deb http://deb.debian.org/debian $SUITE main
deb http://deb.debian.org/debian $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOS
}
postprocess_python() {
  local root=$1
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  [ -e "$root/usr/bin/python" ] || ln -s python3 "$root/usr/bin/python"
  [ -e "$root/usr/bin/pip" ] || ln -s pip3 "$root/usr/bin/pip"
}
postprocess_postgres() {
  local root=$1
  # if postgresql-common's postinst made a default cluster (15/main), drop it: the
  # entrypoint initialises $PGDATA itself, like the official image.
  ls -d "$root"/var/lib/postgresql/15/* "$root"/etc/postgresql/15/* 2>/dev/null || echo "no default cluster to remove"
  rm -rf "$root"/var/lib/postgresql/15 "$root"/etc/postgresql/15
}
postprocess_redis() { :; }
postprocess_rabbitmq() {
  local root=$1
  # the package's postinst may have left a node's data or a cookie from the chroot: each
  # container starts with its own (the entrypoint writes config and cookie)
  rm -rf "$root"/var/lib/rabbitmq/mnesia "$root"/var/lib/rabbitmq/.erlang.cookie \
         "$root"/var/log/rabbitmq/*
}
postprocess_nginx() {
  local root=$1
  rm -f "$root"/var/log/nginx/*
}
postprocess_prometheus() {
  local root=$1
  # the package's postinst may have made its data directory and logs in the chroot
  rm -rf "$root"/var/lib/prometheus/* "$root"/var/log/prometheus/*
}
postprocess_minio() { :; }

# ---------------------------------------------------------------- minio from source
minio_binary() { echo "$CACHE_ROOT/minio/$MINIO_VERSION/minio"; }

# Extra recipe inputs of an image, beyond its rootfs and build context.
inputs_minio() {
  local bin
  bin=$(minio_binary)
  echo "module=$MINIO_MODULE@$MINIO_VERSION"
  if [ -x "$bin" ]; then echo "binary=$(sha256sum <"$bin" | cut -c1-64)"; else echo "binary=missing"; fi
}

find_go() {
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  [ -x /usr/local/go/bin/go ] && { echo /usr/local/go/bin/go; return; }
  return 1
}

# Build the binary once (cached by version outside the repo); later runs reuse it.
prepare_minio() {
  local bin go dir t
  bin=$(minio_binary)
  [ -x "$bin" ] && return 0
  go=$(find_go) || { echo "[images] [minio] ERROR: Go >= 1.24 is needed to build MinIO (go install $MINIO_MODULE@$MINIO_VERSION) and none is on PATH or in /usr/local/go/bin" >&2; return 1; }
  dir=$(dirname "$bin")
  mkdir -p "$dir"
  echo "[images] [minio] go install $MINIO_MODULE@$MINIO_VERSION ($("$go" version | cut -d' ' -f3); about 5 min on 2 cores)"
  t=$(now)
  rm -rf "$dir/tmp-bin"
  GOBIN="$dir/tmp-bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    "$go" install -trimpath -ldflags "-s -w" "$MINIO_MODULE@$MINIO_VERSION" >>"$CACHE/logs/minio-go.log" 2>&1 \
    || { echo "[images] [minio] ERROR: go install failed; last lines of $CACHE/logs/minio-go.log:" >&2; tail -n 20 "$CACHE/logs/minio-go.log" >&2; return 1; }
  mv -f "$dir/tmp-bin/minio" "$bin"
  rm -rf "$dir/tmp-bin"
  echo "[images] [minio] built $bin in $(since "$t")s ($(du -h "$bin" | cut -f1))"
}

# Fill a build context with what the recipe's directory does not hold.
context_minio() {
  cp "$(minio_binary)" "$1/minio"
}
build_labels_minio() {
  echo "devkit.minio.version=$MINIO_MODULE@$MINIO_VERSION"
}

# ---------------------------------------------------------------- helpers
sha() {
  local h
  h=$(sha256sum | cut -c1-16)
  [ ${#h} -eq 16 ] || { echo "[images] ERROR: hashing a recipe failed" >&2; return 1; }
  echo "$h"
}

# (debootstrap itself keeps the packages' postinst scripts from starting
# daemons in the chroot: it installs a policy-rc.d and a fake
# start-stop-daemon for the duration of the install.)
debootstrap_rootfs() {
  local pkgs=$1 root=$2
  debootstrap --variant=minbase --include="$pkgs" --keyring="$KEYRING" \
    "$SUITE" "$root" "$MIRROR"
}

rootfs_key() {  # what the cached tarball depends on
  local name=$1
  { echo "suite=$SUITE variant=minbase include=${PKGS[$name]}"
    declare -f debootstrap_rootfs postprocess_common "postprocess_$name"
  } | sha
}

recipe_key() {  # what the final image depends on
  local name=$1 ctx=${CONTEXT[$1]}
  { echo "rootfs=$(rootfs_key "$name")"
    echo "tag=${TAG[$name]}"
    if declare -F "inputs_$name" >/dev/null; then "inputs_$name"; fi
    if [ -z "$ctx" ]; then
      echo "$PYTHON_CHANGES"
    else
      (cd "$ctx" && find . -type f | LC_ALL=C sort | while read -r f; do
        echo "$f $(sha256sum <"$f" | cut -c1-64)"; done)
    fi
  } | sha
}

engine_up() { timeout 15 docker info >/dev/null 2>&1; }

image_label() {  # image_label TAG LABEL -> value, or nothing if the image is missing
  docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# Which final images are missing or out of date.
todo() {
  local name out=()
  local want
  for name in "${IMAGES[@]}"; do
    want=$(recipe_key "$name")
    [ "$(image_label "${TAG[$name]}" devkit.recipe)" = "$want" ] || out+=("$name")
  done
  echo "${out[@]:-}"
}

# unmount anything left mounted under a rootfs (debootstrap mounts proc/sys
# and leaves them if it dies), then delete it without crossing filesystems
remove_rootfs() {
  local root=$1 m
  [ -d "$root" ] || return 0
  awk -v r="$root" 'index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r \
    | while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$root"
}

# One image, start to finish. Runs in a background subshell; its heavy output
# goes to $CACHE/logs/$name.log, its progress lines to stdout.
build_one() {
  local name=$1
  local tag=${TAG[$name]} base=${BASE[$name]} ctx=${CONTEXT[$name]}
  local rkey fkey tarball log t root=""
  log="$CACHE/logs/$name.log"
  : >"$log"
  p() { echo "[images] [$name] $*"; }
  # inputs from outside the recipe's directory (the minio binary) come first: they are part
  # of the recipe's hash
  if declare -F "prepare_$name" >/dev/null; then "prepare_$name" || exit 1; fi
  rkey=$(rootfs_key "$name")
  fkey=$(recipe_key "$name")
  tarball="$CACHE/$name-$SUITE-$rkey.rootfs.tar"
  fail() {
    trap - ERR
    if [ -n "${root:-}" ] && [ -f "$root/debootstrap/debootstrap.log" ]; then
      { echo "--- $root/debootstrap/debootstrap.log (tail):"; tail -n 40 "$root/debootstrap/debootstrap.log"; } >>"$log"
    fi
    echo "[images] [$name] ERROR: $*" >&2
    echo "[images] [$name] last 30 lines of $log:" >&2
    tail -n 30 "$log" | sed "s/^/[images] [$name]   /" >&2
    exit 1
  }
  # anything else that fails (set -e) says where, with the log
  set -E
  trap 'fail "failed at line $LINENO: $BASH_COMMAND"' ERR

  # the images this run replaces (an older recipe): removed at the end if
  # nothing uses them any more (never a blanket prune: other builds share this
  # engine, and images built FROM ours inherit our labels)
  local replaced
  replaced=$(docker image inspect -f '{{.Id}}' "$tag" ${base:+"$base"} 2>/dev/null || true)

  # 1. the rootfs image: from Docker, else from the cached tarball, else debootstrap
  local import_tag=${base:-$tag}
  local have_rootfs=""
  if [ -n "$base" ] && [ "$(image_label "$base" devkit.rootfs)" = "$rkey" ]; then
    have_rootfs=1
    p "rootfs image $base present"
  fi
  if [ -z "$have_rootfs" ]; then
    if [ -s "$tarball" ]; then
      p "rootfs tarball cached: $tarball ($(du -h "$tarball" | cut -f1))"
    else
      root=$(mktemp -d "$CACHE/work/$name.XXXXXX")
      # shellcheck disable=SC2064
      trap "remove_rootfs '$root'" EXIT
      p "debootstrap $SUITE minbase + ${PKGS[$name]} (log: $log)"
      t=$(now)
      debootstrap_rootfs "${PKGS[$name]}" "$root" >>"$log" 2>&1 \
        || fail "debootstrap failed (mirror $MIRROR)"
      p "debootstrap: $(since "$t")s"
      t=$(now)
      postprocess_common "$root" >>"$log" 2>&1
      "postprocess_$name" "$root" >>"$log" 2>&1
      tar --numeric-owner -C "$root" -cf "$tarball.tmp" \
        --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' . >>"$log" 2>&1 \
        || fail "tar of the rootfs failed"
      mv -f "$tarball.tmp" "$tarball"
      remove_rootfs "$root"
      trap - EXIT
      # drop tarballs of older recipes of this image
      find "$CACHE" -maxdepth 1 -name "$name-$SUITE-*.rootfs.tar" ! -name "$(basename "$tarball")" -delete
      p "tarball: $(since "$t")s ($(du -h "$tarball" | cut -f1))"
    fi
    t=$(now)
    local changes=() line
    if [ -z "$base" ]; then
      while IFS= read -r line; do changes+=(--change "$line"); done <<<"$PYTHON_CHANGES"
      changes+=(--change "LABEL devkit.recipe=$fkey")
    else
      changes+=(--change "ENV PATH=$PATH_ENV" --change "LABEL devkit.rootfs=$rkey")
    fi
    docker import "${changes[@]}" --message "devkit debootstrap $SUITE minbase + ${PKGS[$name]}" \
      "$tarball" "$import_tag" >>"$log" 2>&1 \
      || fail "docker import of $tarball failed"
    p "import as $import_tag: $(since "$t")s"
  fi

  # 2. the final image (all but python): Dockerfile on top of the rootfs, no network
  if [ -n "$ctx" ]; then
    t=$(now)
    local bctx=$ctx extra_labels=() line
    if declare -F "context_$name" >/dev/null; then
      bctx=$(mktemp -d "$CACHE/work/$name-context.XXXXXX")
      cp -a "$ctx"/. "$bctx"/
      "context_$name" "$bctx"
    fi
    if declare -F "build_labels_$name" >/dev/null; then
      while IFS= read -r line; do extra_labels+=(--label "$line"); done < <("build_labels_$name")
    fi
    docker build --network none --pull=false --force-rm "${extra_labels[@]}" \
      --build-arg "BASE=$base" --label "devkit.recipe=$fkey" -t "$tag" "$bctx" >>"$log" 2>&1 \
      || fail "docker build of $tag from $ctx failed"
    [ "$bctx" = "$ctx" ] || rm -rf "$bctx"
    p "docker build $tag: $(since "$t")s"
  fi

  [ "$(image_label "$tag" devkit.recipe)" = "$fkey" ] || fail "$tag is not labelled with the expected recipe after the build"
  local id current
  current=$(docker image inspect -f '{{.Id}}' "$tag" ${base:+"$base"} 2>/dev/null | tr '\n' ' ' || true)
  for id in $replaced; do
    case " $current " in *" $id "*) ;; *) docker rmi "$id" >/dev/null 2>&1 || true ;; esac
  done
  p "ready: $tag"
}

# ---------------------------------------------------------------- main
if ! engine_up; then
  say "docker engine not answering: running engine.sh"
  bash "$HERE/engine.sh"
fi

# Fast path: everything present and current; no lock, no root needed.
pending=$(todo)
if [ -z "$pending" ]; then
  say "all images present (${TAG[*]}) in $(since "$T0")s"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "images to build ($pending) but not root (uid $(id -u)): debootstrap needs root"
mkdir -p "$CACHE/work" "$CACHE/logs"

# Serialise concurrent runs; the second one finds the images built.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "another images.sh holds $CACHE/.lock: waiting (at most 30 min)"
  flock -w 1800 9 || die "could not take $CACHE/.lock within 30 min"
fi
pending=$(todo)
if [ -z "$pending" ]; then
  say "all images present after waiting for the lock, in $(since "$T0")s"
  exit 0
fi
# leftovers of an interrupted run (we hold the lock, so nobody is using them)
for d in "$CACHE"/work/*; do [ -e "$d" ] && remove_rootfs "$d"; done
rm -f "$CACHE"/*.tmp

say "to build: $pending (cache: $CACHE)"

# debootstrap is needed only when some tarball is missing
need_debootstrap=""
for name in $pending; do
  if [ ! -s "$CACHE/$name-$SUITE-$(rootfs_key "$name").rootfs.tar" ]; then need_debootstrap=1; fi
done
if [ -n "$need_debootstrap" ] && ! command -v debootstrap >/dev/null 2>&1; then
  say "debootstrap not found: installing it from Debian"
  t=$(now)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null \
    || die "apt-get install debootstrap failed"
  say "installed debootstrap in $(since "$t")s"
fi
if [ -n "$need_debootstrap" ]; then
  [ -s "$KEYRING" ] || die "$KEYRING missing (apt-get install debian-archive-keyring)"
fi

# The images are independent: build them in parallel (debootstrap is mostly
# download + dpkg, so several jobs on 2 cores overlap well; the one Go build is
# the long pole).
declare -A PID=()
for name in $pending; do
  ( build_one "$name" ) &
  PID[$name]=$!
done
failed=()
for name in $pending; do
  wait "${PID[$name]}" || failed+=("$name")
done


if [ ${#failed[@]} -gt 0 ]; then
  die "failed to build: ${failed[*]} (logs in $CACHE/logs/) after $(since "$T0")s"
fi
say "built: $pending in $(since "$T0")s"
