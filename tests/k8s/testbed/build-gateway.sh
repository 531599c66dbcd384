#!/usr/bin/env bash
# Build the testbed's gateway (issue 16): Traefik from its upstream Go module, its image, and the
# Gateway API standard CRDs from theirs. Nothing fetched here is committed: the sources stay in Go's
# module cache, the patched copies, the binary and the CRD file in the cache directory below.
#
#   bash tests/k8s/testbed/build-gateway.sh               build what is missing, print the image tag
#   bash tests/k8s/testbed/build-gateway.sh --print-dir   the cache directory of these versions
#   bash tests/k8s/testbed/build-gateway.sh --print-image the image tag of the current build
#
# Traefik v3.7.13 cannot be built by `go install` (its go.mod has replace directives), so a copy of
# its module is built as the main module, with three gaps closed in the copy (see ENVIRONMENT.md):
#   1. the nested module pkg/config/dynamic/ext (stub types upstream) is not in the module zip:
#      a stub module with the two empty types Traefik embeds is written;
#   2. 14 dependencies of lego's DNS providers answer 403 on the module proxy: a copy of lego
#      without those providers (their names in TRIMMED_DNS_PROVIDERS; ACME DNS-01 with them is lost);
#   3. Traefik's fork of go-http-auth answers 403: upstream github.com/abbot/go-http-auth v0.4.0,
#      which lacks two functions of the fork; a file added to its copy gives them (CheckSecret over
#      its own hash comparisons, and RequireAuthStale), so BasicAuth and DigestAuth stay.
# Cached in ${DEVKIT_TESTBED_CACHE:-~/.cache/devkit-testbed}/gateway-<versions hash>/:
#   bin/traefik, crds/gateway-api-<version>-standard.yaml, work/ (the patched copies), logs/.
# The image devkit-testbed/traefik:<version>-<key> (FROM scratch: the static binary) lives in the
# Docker engine; cluster.sh loads it into the kind node (kind load), so nothing is pulled.
# Each step logs its wall time. Needs Go and, for the image, a Docker engine.
set -euo pipefail
shopt -s inherit_errexit

TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.7.13}
GO_HTTP_AUTH_VERSION=v0.4.0
GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-v1.6.3}
TRIMMED_DNS_PROVIDERS=(alidns aliesa azion dnsimple edgedns edgeone huaweicloud oraclecloud regfish
                       sakuracloud tencentcloud ucloud yandexcloud)
export DOCKER_BUILDKIT=0   # Debian's engine 20.10: the classic builder

log() { printf '[gateway %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
step() {  # step NAME CMD...: run, log the wall time, fail loudly
  local name=$1 t0=$SECONDS
  shift
  log "START $name"
  if ! "$@"; then die "$name (after $((SECONDS - t0)) s)"; fi
  log "DONE  $name in $((SECONDS - t0)) s"
}
sha() { sha256sum | cut -c1-12; }

# ---------------------------------------------------------------- the three gaps (hashed below)
write_ext_stub() {  # write_ext_stub SRC
  local dir=$1/pkg/config/dynamic/ext
  mkdir -p "$dir"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n' >"$dir/go.mod"
  cat >"$dir/ext.go" <<'EOF'
// Package ext is the extension point Traefik's dynamic configuration embeds; upstream it holds
// only these stub types, in a nested module that is not in the module zip (devkit testbed).
package ext

// HTTP extends dynamic.HTTPConfiguration.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}
EOF
}
trim_lego() {  # trim_lego LEGO-COPY: drop the DNS providers whose dependencies cannot be had
  local lego=$1 p gen
  gen=$lego/providers/dns/zz_gen_dns_providers.go
  for p in "${TRIMMED_DNS_PROVIDERS[@]}"; do
    rm -rf "${lego:?}/providers/dns/$p"
    grep -q "\"github.com/go-acme/lego/v5/providers/dns/$p\"\$" "$gen" \
      || { echo "lego: no provider $p in $gen" >&2; return 1; }
    sed -i "\#\"github.com/go-acme/lego/v5/providers/dns/$p\"\$#d" "$gen"
    grep -q "return $p\.NewDNSProvider()" "$gen" || { echo "lego: no constructor of $p" >&2; return 1; }
    sed -i "s#return $p\.NewDNSProvider()#return nil, fmt.Errorf(\"dns provider %q: not built into this Traefik (devkit testbed)\", name)#" "$gen"
  done
  rm -f "$lego/providers/dns/dns_providers_test.go"
}
patch_go_http_auth() {  # patch_go_http_auth COPY: what Traefik's fork adds, over v0.4.0's own code
  local dir=$1
  printf 'module github.com/abbot/go-http-auth\n\ngo 1.20\n\nrequire (\n\tgolang.org/x/crypto v0.56.0\n\tgolang.org/x/net v0.58.0\n)\n' >"$dir/go.mod"
  cat >"$dir/devkit_fork_compat.go" <<'EOF'
package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CheckSecret reports whether password matches secret, an htpasswd hash (MD5, {SHA} or bcrypt),
// with the comparisons BasicAuth.CheckAuth uses. Traefik's fork exports this; v0.4.0 does not.
// Added by devkit's testbed build (tests/k8s/testbed/build-gateway.sh).
func CheckSecret(password, secret string) bool {
	compare := compareFuncs[0].compare
	for _, cmp := range compareFuncs[1:] {
		if strings.HasPrefix(secret, cmp.prefix) {
			compare = cmp.compare
			break
		}
	}
	return compare([]byte(secret), []byte(password)) == nil
}

// RequireAuthStale is RequireAuth with stale=true: the client's nonce expired, its credentials
// may still be good. Traefik's fork exports this; v0.4.0 does not.
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	if len(a.clients) > a.ClientCacheSize+a.ClientCacheTolerance {
		a.Purge(a.ClientCacheTolerance * 2)
	}
	nonce := RandomKey()
	a.clients[nonce] = &digest_client{nc: 0, last_seen: time.Now().UnixNano()}
	w.Header().Set(contentType, a.Headers.V().UnauthContentType)
	w.Header().Set(a.Headers.V().Authenticate,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="%s", algorithm="MD5", qop="auth", stale=true`,
			a.Realm, nonce, a.Opaque))
	w.WriteHeader(a.Headers.V().UnauthCode)
	w.Write([]byte(a.Headers.V().UnauthResponse))
}
EOF
}

versions="traefik=$TRAEFIK_VERSION go-http-auth=$GO_HTTP_AUTH_VERSION gateway-api=$GATEWAY_API_VERSION trimmed=${TRIMMED_DNS_PROVIDERS[*]}"
vhash=$( { echo "$versions"; declare -f write_ext_stub trim_lego patch_go_http_auth; } | sha)
CACHE_ROOT=${DEVKIT_TESTBED_CACHE:-$HOME/.cache/devkit-testbed}
OUT=$CACHE_ROOT/gateway-$vhash
BIN=$OUT/bin
WORK=$OUT/work
CRDS=$OUT/crds/gateway-api-$GATEWAY_API_VERSION-standard.yaml

module_dir() {  # module_dir MODULE@VERSION: its directory in Go's module cache (downloads it)
  (cd "$WORK" && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
writable_copy() {  # writable_copy FROM TO
  rm -rf "$2" && cp -r "$1" "$2" && chmod -R u+w "$2"
}

prepare_sources() {
  [[ -f "$WORK/.sources-ready" ]] && { log "SKIP  sources (ready in $WORK)"; return 0; }
  local traefik lego lego_version auth
  [[ -f "$WORK/go.mod" ]] || printf 'module devkit.local/testbed/gateway\n\ngo 1.24\n' >"$WORK/go.mod"
  traefik=$(module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
  [[ -f "$traefik/go.mod" ]] || { echo "Traefik module not found: '$traefik'" >&2; return 1; }
  lego_version=$(awk '$1=="github.com/go-acme/lego/v5"{print $2; exit}' "$traefik/go.mod")
  [[ -n "$lego_version" ]] || { echo "no lego/v5 requirement in Traefik's go.mod" >&2; return 1; }
  lego=$(module_dir "github.com/go-acme/lego/v5@$lego_version")
  auth=$(module_dir "github.com/abbot/go-http-auth@$GO_HTTP_AUTH_VERSION")
  writable_copy "$traefik" "$WORK/traefik" && writable_copy "$lego" "$WORK/lego" \
    && writable_copy "$auth" "$WORK/go-http-auth" || return 1
  write_ext_stub "$WORK/traefik" && trim_lego "$WORK/lego" && patch_go_http_auth "$WORK/go-http-auth" \
    || return 1
  (cd "$WORK/traefik" \
    && go mod edit -replace "github.com/go-acme/lego/v5=../lego" \
         -replace "github.com/abbot/go-http-auth=../go-http-auth") || return 1
  log "lego $lego_version without ${#TRIMMED_DNS_PROVIDERS[@]} DNS providers; go-http-auth $GO_HTTP_AUTH_VERSION"
  touch "$WORK/.sources-ready"
}

build_traefik() {
  local pkg=github.com/traefik/traefik/v3/pkg/version
  (cd "$WORK/traefik" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $pkg.Version=$TRAEFIK_VERSION -X $pkg.Codename=devkit-testbed -X $pkg.BuildDate=unset" \
    -o "$BIN/.traefik.tmp" ./cmd/traefik) && mv "$BIN/.traefik.tmp" "$BIN/traefik" \
    && "$BIN/traefik" version | grep -q "$TRAEFIK_VERSION"
}

write_crds() {  # the standard channel's CRDs (and its ValidatingAdmissionPolicy) as one file
  local dir f
  dir=$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")/config/crd/standard
  [[ -d "$dir" ]] || { echo "no $dir" >&2; return 1; }
  {
    echo "# Gateway API $GATEWAY_API_VERSION, standard channel: config/crd/standard/ of the Go module"
    echo "# sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION. Copyright The Kubernetes Authors;"
    echo "# Apache License 2.0 (LICENSE in that module). Concatenated by build-gateway.sh."
    for f in "$dir"/*.yaml; do
      [[ $(basename "$f") == kustomization.yaml ]] && continue
      echo "---"
      cat "$f"
    done
  } >"$CRDS.tmp" && mv "$CRDS.tmp" "$CRDS"
  log "$(grep -c '^kind: CustomResourceDefinition' "$CRDS") CRDs in $CRDS"
}

build_image() {  # build_image TAG: FROM scratch, the static binary (nothing pulled)
  local ctx=$WORK/image-context
  rm -rf "$ctx" && mkdir -p "$ctx"
  ln "$BIN/traefik" "$ctx/traefik" 2>/dev/null || cp "$BIN/traefik" "$ctx/traefik"
  printf 'FROM scratch\nCOPY traefik /traefik\nUSER 65532:65532\nENTRYPOINT ["/traefik"]\n' \
    >"$ctx/Dockerfile"
  local out  # the classic builder's output only when it fails (it is noisy)
  out=$(docker build --network none --pull=false -q --label "devkit.testbed.traefik=$TRAEFIK_VERSION" \
        -t "$1" "$ctx" 2>&1) || { echo "$out" >&2; return 1; }
  rm -rf "$ctx"
}

image_key() {  # what the image is made of: the binary and this recipe
  { stat -c '%s %Y' "$BIN/traefik"; echo "$versions"; declare -f build_image; } | sha
}
image_tag() { echo "devkit-testbed/traefik:$TRAEFIK_VERSION-$(image_key)"; }

case ${1:-build} in
  --print-dir) echo "$OUT"; exit 0 ;;
  --print-image)
    [[ -x "$BIN/traefik" ]] || die "Traefik is not built in $BIN: run bash $0"
    image_tag; exit 0 ;;
  build) ;;
  *) die "usage: $0 [--print-dir|--print-image]" ;;
esac

command -v go >/dev/null || die "go not found"
mkdir -p "$BIN" "$WORK" "$OUT/crds" "$OUT/logs"
printf '%s\n' "$versions" >"$OUT/versions.txt"
exec 9>"$OUT/.build.lock"
flock -w 1800 9 || die "another build-gateway.sh holds $OUT/.build.lock"
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=${GOTOOLCHAIN_OVERRIDE:-local}
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
T_ALL=$SECONDS
log "versions: $versions"
log "output:   $OUT ($(go version))"

step "sources: Traefik $TRAEFIK_VERSION, lego, go-http-auth (copies, patched)" prepare_sources
if [[ -x "$BIN/traefik" ]]; then log "SKIP  traefik (exists: $BIN/traefik)"
else step "build traefik $TRAEFIK_VERSION (CGO_ENABLED=0)" build_traefik; fi
if [[ -s "$CRDS" ]]; then log "SKIP  Gateway API CRDs (exists: $CRDS)"
else step "Gateway API $GATEWAY_API_VERSION standard CRDs" write_crds; fi
TAG=$(image_tag)
if docker image inspect "$TAG" >/dev/null 2>&1; then log "SKIP  image $TAG (present)"
else step "image $TAG" build_image "$TAG"; fi
log "gateway parts ready in $((SECONDS - T_ALL)) s ($(du -sh "$BIN/traefik" | cut -f1) binary)"
echo "$TAG"
