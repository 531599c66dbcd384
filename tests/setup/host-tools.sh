#!/usr/bin/env bash
# What the image builds take from the host: debootstrap and Debian's archive keyring, installed
# (with fresh package lists, which the builds' `apt-get download` reads) before tests/run starts
# the base images and the testbed side by side, so that no two of them wait on apt's lock.
#
#   bash tests/setup/host-tools.sh
set -euo pipefail

if command -v debootstrap >/dev/null 2>&1 && [ -s /usr/share/keyrings/debian-archive-keyring.gpg ]
then
  echo "[host-tools] debootstrap and the Debian keyring are installed"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "[host-tools] ERROR: installing debootstrap needs root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || { echo "[host-tools] ERROR: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null \
  || { echo "[host-tools] ERROR: apt-get install debootstrap failed" >&2; exit 1; }
echo "[host-tools] installed debootstrap and the Debian keyring"
