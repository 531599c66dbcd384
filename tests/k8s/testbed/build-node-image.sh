#!/usr/bin/env bash
# Build the testbed's kind node image (and its registry image) from the binaries of
# build-binaries.sh, the way kind's own node image is made (issue 9, part 2).
#
#   bash tests/k8s/testbed/build-node-image.sh               build what is missing, print the tag
#   bash tests/k8s/testbed/build-node-image.sh --print-tags  the tags the current recipe gives
#   bash tests/k8s/testbed/build-node-image.sh --rootfs-only step 1 only (needs no binaries yet)
#
# Steps, each skipped when its result exists:
#   1. two debootstrap bookworm rootfs tarballs, cached in <cache>/rootfs/:
#      node (systemd, containerd, runc, CNI plugins, iptables, ...) and base (glibc, iptables,
#      conntrack: what the cgo-built control-plane binaries and kube-proxy need)
#   2. the images kubeadm lists (`kubeadm config images list`), built FROM the base with the
#      binaries, tagged exactly as listed and saved into one tar (shared layers once),
#      <cache>/images/kubeadm-images-<key>.tar
#   3. the node image devkit-testbed/node:<k8s version>-<key>: the node rootfs + kind's base files
#      (images/base/files of the kind module) + kubelet, kubeadm, kubectl + the images tar in
#      /kind/images + node/ (containerd config, bridge CNI, registry hosts.toml, entrypoint)
#   4. the registry image devkit-testbed/registry:<key>: the base + Debian's docker-registry
# <key> hashes everything the images are made of (this script, node/, the pinned versions, the
# binaries' sizes and times), so a changed recipe builds new images and an unchanged one is reused.
# A machine whose Docker data was wiped rebuilds 2-4 from the cached tarballs in about a minute.
# Needs root (debootstrap, chroot) when a rootfs tarball is missing, and a Docker engine.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(bash "$HERE/build-binaries.sh" --print-dir)
BIN=$OUT/bin
MIRROR=${DEVKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DOCKER_BUILDKIT=0   # Debian's engine 20.10: the classic builder

log() { printf '[node-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

MODE=${1:-build}
case $MODE in build|--print-tags|--rootfs-only) ;; *) die "usage: $0 [--print-tags|--rootfs-only]" ;; esac
[[ -f "$OUT/versions.txt" ]] || die "no $OUT/versions.txt: run bash $HERE/build.sh (or build-binaries.sh)"
version_of() { tr ' ' '\n' <"$OUT/versions.txt" | sed -n "s/^$1=//p"; }
K8S_VERSION=$(version_of k8s)
KIND_VERSION=$(version_of kind)
[[ -n "$K8S_VERSION" && -n "$KIND_VERSION" ]] || die "cannot read versions from $OUT/versions.txt"

# debootstrap --include lists: the node, and the base of the images kubeadm runs
# shellcheck disable=SC2054  # commas: debootstrap takes comma-separated lists
declare -A PKGS=(
  [node]=systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,iproute2,conntrack,ethtool,socat,ebtables,kmod,mount,procps,ca-certificates,libseccomp2,util-linux
  [base]=iptables,conntrack,ca-certificates
)

# the binaries that go into the images (kind and kwok run on the host)
IMAGE_BINARIES=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler
                kube-proxy etcd coredns pause)

# ---------------------------------------------------------------- recipe keys
sha() { sha256sum | cut -c1-12; }
postprocess_common() {  # slim, and nothing of the build host
  local root=$1
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/var/log/bootstrap.log
  find "$root"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  : >"$root"/etc/resolv.conf
  echo localhost >"$root"/etc/hostname
}
postprocess_node() {  # what kind's base Dockerfile does after installing its packages
  local root=$1
  find "$root"/lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
  rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
        "$root"/lib/systemd/system/local-fs.target.wants/* \
        "$root"/lib/systemd/system/sockets.target.wants/*udev* \
        "$root"/lib/systemd/system/sockets.target.wants/*initctl* \
        "$root"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$root"/etc/systemd/journald.conf
  rm -f "$root"/etc/machine-id && : >"$root"/etc/machine-id
}
postprocess_base() { :; }
rootfs_key() {  # rootfs_key node|base
  { echo "suite=$SUITE variant=minbase include=${PKGS[$1]}"
    declare -f postprocess_common "postprocess_$1"; } | sha
}
recipe_key() {  # everything the node and registry images are made of
  { cat "${BASH_SOURCE[0]}" "$OUT/versions.txt"
    (cd "$HERE/node" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    (cd "$BIN" && stat -c '%n %s %Y' "${IMAGE_BINARIES[@]}")
    echo "node=$(rootfs_key node) base=$(rootfs_key base)"; } | sha
}
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
dbuild() {  # docker build, offline; its output only when it fails (the classic builder is noisy)
  local out
  out=$(docker build --network none --pull=false -q "$@" 2>&1) || { echo "$out" >&2; return 1; }
}
if [[ $MODE != --rootfs-only ]]; then
  [[ -f "$OUT/.binaries-ready" ]] \
    || die "the testbed binaries are not built in $BIN: run bash $HERE/build.sh (or build-binaries.sh)"
  KEY=$(recipe_key)
  NODE_TAG=devkit-testbed/node:$K8S_VERSION-$KEY
  REGISTRY_TAG=devkit-testbed/registry:$KEY
  if [[ $MODE == --print-tags ]]; then echo "$NODE_TAG"; echo "$REGISTRY_TAG"; exit 0; fi
  if have_image "$NODE_TAG" && have_image "$REGISTRY_TAG"; then
    log "SKIP  $NODE_TAG and $REGISTRY_TAG (present)"
    echo "$NODE_TAG"
    exit 0
  fi
fi

WORK=$OUT/work/node-image
mkdir -p "$OUT/rootfs" "$OUT/images" "$WORK"
exec 9>"$OUT/.node-image.lock"
flock -w 1800 9 || die "another build-node-image.sh holds $OUT/.node-image.lock"
T_ALL=$SECONDS

# ---------------------------------------------------------------- 1. rootfs tarballs
remove_rootfs() {  # unmount what debootstrap left mounted, then delete without crossing mounts
  local root=$1 m
  [[ -d "$root" ]] || return 0
  awk -v r="$root" 'index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r \
    | while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$root"
}
rootfs_tarball() { echo "$OUT/rootfs/$1-$SUITE-$(rootfs_key "$1").tar"; }
make_rootfs() {  # make_rootfs node|base: debootstrap, post-process, tar (logs to a file)
  local name=$1 tarball root t0=$SECONDS
  tarball=$(rootfs_tarball "$name")
  if [[ -s "$tarball" ]]; then log "SKIP  rootfs $name (cached: $tarball)"; return 0; fi
  root=$WORK/rootfs-$name
  remove_rootfs "$root"
  log "START debootstrap $SUITE minbase + ${PKGS[$name]} (log $WORK/debootstrap-$name.log)"
  if ! debootstrap --variant=minbase --include="${PKGS[$name]}" --keyring="$KEYRING" \
      "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap-$name.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap-$name.log" >&2
    [[ -f "$root/debootstrap/debootstrap.log" ]] && tail -n 20 "$root/debootstrap/debootstrap.log" >&2
    remove_rootfs "$root"
    return 1
  fi
  if ! { postprocess_common "$root" && "postprocess_$name" "$root" \
         && tar --numeric-owner -C "$root" -cf "$tarball.tmp" \
              --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' . \
         && mv "$tarball.tmp" "$tarball"; }; then
    remove_rootfs "$root"
    return 1
  fi
  remove_rootfs "$root"
  find "$OUT/rootfs" -name "$name-$SUITE-*.tar" ! -name "$(basename "$tarball")" -delete
  log "DONE  rootfs $name in $((SECONDS - t0)) s ($(du -h "$tarball" | cut -f1))"
}
need_debootstrap=0
for n in node base; do [[ -s "$(rootfs_tarball "$n")" ]] || need_debootstrap=1; done
if [[ $need_debootstrap == 1 ]]; then
  [[ $(id -u) == 0 ]] || die "debootstrap needs root"
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      debootstrap debian-archive-keyring >/dev/null || die "apt-get install debootstrap failed"
  fi
  # the two are independent: debootstrap is mostly download and dpkg, so they overlap well
  make_rootfs node & pid_node=$!
  make_rootfs base & pid_base=$!
  wait "$pid_node" || die "node rootfs (log $WORK/debootstrap-node.log)"
  wait "$pid_base" || die "base rootfs (log $WORK/debootstrap-base.log)"
fi
if [[ $MODE == --rootfs-only ]]; then log "rootfs tarballs ready in $((SECONDS - T_ALL)) s"; exit 0; fi

import_rootfs() {  # import_rootfs node|base -> the tag of the imported rootfs image
  local name=$1 key tag
  key=$(rootfs_key "$name")
  tag=devkit-testbed/$name-rootfs:$key
  if ! have_image "$tag"; then
    docker import --change "ENV PATH=$PATH_ENV" --message "devkit testbed $name rootfs" \
      "$(rootfs_tarball "$name")" "$tag" >/dev/null || return 1
    log "imported $tag"
  fi
  echo "$tag"
}
NODE_ROOTFS=$(import_rootfs node) || die "docker import of the node rootfs"
BASE_ROOTFS=$(import_rootfs base) || die "docker import of the base rootfs"

# ---------------------------------------------------------------- 2. the images kubeadm lists
IMAGES_TAR=$OUT/images/kubeadm-images-$KEY.tar
mapfile -t LISTED < <("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
[[ ${#LISTED[@]} -ge 6 ]] || die "kubeadm config images list gave: ${LISTED[*]:-nothing}"
PAUSE_IMAGE=$(printf '%s\n' "${LISTED[@]}" | grep '/pause:') || die "no pause image in: ${LISTED[*]}"

component_dockerfile() {  # component_dockerfile IMAGE-NAME: the Dockerfile lines after FROM
  case $1 in
    kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)
      printf 'COPY %s /usr/local/bin/%s\n' "$1" "$1" ;;
    etcd) printf 'COPY etcd /usr/local/bin/etcd\n' ;;
    coredns) printf 'COPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' ;;
    pause) printf 'COPY pause /pause\nENTRYPOINT ["/pause"]\n' ;;
    *) return 1 ;;
  esac
}
build_kubeadm_images() {
  local ref name ctx t0=$SECONDS
  ctx=$WORK/components
  for ref in "${LISTED[@]}"; do
    name=${ref##*/}; name=${name%%:*}
    rm -rf "$ctx" && mkdir -p "$ctx"
    { echo "FROM $BASE_ROOTFS"; component_dockerfile "$name"; } >"$ctx/Dockerfile" \
      || { echo "no recipe for the image $ref" >&2; return 1; }
    cp "$BIN/$name" "$ctx/$name" || return 1
    dbuild -t "$ref" "$ctx" || return 1
  done
  rm -rf "$ctx"
  docker save -o "$IMAGES_TAR.tmp" "${LISTED[@]}" && mv "$IMAGES_TAR.tmp" "$IMAGES_TAR" || return 1
  # the registry.k8s.io tags were only needed for the saved names: the engine keeps none of them
  docker rmi "${LISTED[@]}" >/dev/null
  find "$OUT/images" -name 'kubeadm-images-*.tar' ! -name "$(basename "$IMAGES_TAR")" -delete
  log "DONE  ${#LISTED[@]} images (${LISTED[*]}) in $((SECONDS - t0)) s ($(du -h "$IMAGES_TAR" | cut -f1))"
}
if [[ -s "$IMAGES_TAR" ]]; then log "SKIP  kubeadm images (cached: $IMAGES_TAR)"
else build_kubeadm_images || die "building the images kubeadm lists"; fi

# ---------------------------------------------------------------- 3. the node image
kind_module_dir() {
  (cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION") \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
build_node() {
  local kind_files ctx root t0=$SECONDS
  kind_files=$(kind_module_dir)/images/base/files
  [[ -d "$kind_files" ]] || { echo "kind's base files not found: '$kind_files'" >&2; return 1; }
  ctx=$WORK/node-context
  root=$ctx/root
  rm -rf "$ctx" && mkdir -p "$root"
  cp "$HERE/node/Dockerfile" "$ctx/Dockerfile"
  # kind's base files: scripts 0755, the rest 0644 (as kind's Dockerfile copies them)
  cp -r "$kind_files"/. "$root"/ && chmod -R u+w,go-w "$root"
  find "$root" -type d -exec chmod 0755 {} + && find "$root" -type f -exec chmod 0644 {} +
  chmod 0755 "$root"/usr/local/bin/* "$root"/kind/bin/*
  # Debian's containerd is /usr/bin/containerd; no fuse-overlayfs here
  sed -i 's#^ExecStart=/usr/local/bin/containerd$#ExecStart=/usr/bin/containerd#' \
    "$root/etc/systemd/system/containerd.service"
  grep -qx 'ExecStart=/usr/bin/containerd' "$root/etc/systemd/system/containerd.service" \
    || { echo "containerd.service of kind $KIND_VERSION changed: ExecStart not rewritten" >&2; return 1; }
  rm -f "$root/etc/systemd/system/containerd-fuse-overlayfs.service"
  sed "s#@PAUSE_IMAGE@#$PAUSE_IMAGE#" "$HERE/node/containerd-config.toml" >"$root/etc/containerd/config.toml"
  install -D -m 0644 "$HERE/node/10-bridge.conflist" "$root/etc/cni/net.d/10-bridge.conflist"
  install -D -m 0644 "$HERE/node/registry-hosts.toml" "$root/etc/containerd/certs.d/localhost:5001/hosts.toml"
  install -D -m 0644 "$HERE/node/devkit-import-images.service" \
    "$root/etc/systemd/system/devkit-import-images.service"
  install -D -m 0644 "$HERE/node/devkit-hostpath-volumes.service" \
    "$root/etc/systemd/system/devkit-hostpath-volumes.service"
  install -D -m 0755 "$HERE/node/devkit-node-entrypoint" "$root/usr/local/bin/devkit-node-entrypoint"
  mkdir -p "$root/usr/bin" "$root/kind/images" "$root/kind/manifests"
  ln "$BIN/kubelet" "$BIN/kubeadm" "$BIN/kubectl" "$root/usr/bin/" 2>/dev/null \
    || cp "$BIN/kubelet" "$BIN/kubeadm" "$BIN/kubectl" "$root/usr/bin/"
  ln "$IMAGES_TAR" "$root/kind/images/kubeadm-images.tar" 2>/dev/null \
    || cp "$IMAGES_TAR" "$root/kind/images/kubeadm-images.tar"
  echo "$K8S_VERSION" >"$root/kind/version"
  : >"$root/kind/manifests/default-cni.yaml"   # the bridge conflist is the CNI: kind applies none
  dbuild --build-arg "ROOTFS=$NODE_ROOTFS" \
    --label "devkit.testbed.recipe=$KEY" -t "$NODE_TAG" "$ctx" || return 1
  rm -rf "$ctx"
  log "DONE  $NODE_TAG in $((SECONDS - t0)) s"
}
if have_image "$NODE_TAG"; then log "SKIP  $NODE_TAG (present)"; else build_node || die "node image"; fi

# ---------------------------------------------------------------- 4. the registry image
build_registry() {
  local ctx=$WORK/registry-context deb t0=$SECONDS
  rm -rf "$ctx" && mkdir -p "$ctx/deb"
  # Debian's docker-registry binary, from its package (not installed on this host)
  (cd "$ctx/deb" && apt-get download docker-registry >/dev/null 2>&1) \
    || { apt-get update -qq && (cd "$ctx/deb" && apt-get download docker-registry >/dev/null); } \
    || return 1
  deb=$(ls "$ctx"/deb/docker-registry_*.deb) && dpkg -x "$deb" "$ctx/deb/x" || return 1
  cp "$ctx/deb/x/usr/bin/docker-registry" "$ctx/docker-registry"
  cp "$HERE/node/registry-config.yml" "$ctx/config.yml"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE_ROOTFS
COPY docker-registry /usr/bin/docker-registry
COPY config.yml /etc/docker/registry/config.yml
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
EOF
  dbuild --label "devkit.testbed.recipe=$KEY" \
    -t "$REGISTRY_TAG" "$ctx" || return 1
  rm -rf "$ctx"
  log "DONE  $REGISTRY_TAG in $((SECONDS - t0)) s"
}
if have_image "$REGISTRY_TAG"; then log "SKIP  $REGISTRY_TAG (present)"
else build_registry || die "registry image"; fi

# images of older recipes: removed when no container uses them (never a blanket prune)
for old in $(docker images --format '{{.Repository}}:{{.Tag}}' 'devkit-testbed/*'); do
  case $old in
    "$NODE_TAG"|"$REGISTRY_TAG"|"$NODE_ROOTFS"|"$BASE_ROOTFS") ;;
    *) if docker rmi "$old" >/dev/null 2>&1; then log "removed the older $old"; fi ;;
  esac
done
log "node image ready in $((SECONDS - T_ALL)) s: $NODE_TAG ($(docker image inspect -f '{{.Id}}' "$NODE_TAG"))"
echo "$NODE_TAG"
