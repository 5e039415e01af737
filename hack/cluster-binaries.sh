#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the Go module proxy into a versioned cache outside the
# repository, skipping any binary that is already there and reports the pinned version.
#
#   hack/cluster-binaries.sh          build what is missing, print the assets directory on the last line
#   hack/cluster-binaries.sh --print  only print the assets directory (exit 1 if incomplete)
#
# Cache root: $IRONFED_CACHE_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/ironfed.
# Layout: k8s/<version>/{kube-apiserver,kube-controller-manager,kubectl}, etcd/<version>/etcd and
# assets/k8s-<version>_etcd-<version>/ with links to all of them (usable as KUBEBUILDER_ASSETS).
# kube-controller-manager runs only its garbage-collector, namespace and serviceaccount controllers in our
# clusters: owner-reference cascades and namespace deletion need them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}
k8s_dir=$cache/k8s/$KUBERNETES_VERSION
etcd_dir=$cache/etcd/$ETCD_VERSION
assets=$cache/assets/k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}
k8s_minor=${KUBERNETES_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
k8s_bins=(kube-apiserver kube-controller-manager kubectl)

log() { printf '[cluster-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# has_version BIN WANT: the binary exists and reports version WANT.
has_version() {
  local bin=$1 want=$2 out
  [[ -x $bin ]] || return 1
  if [[ $(basename "$bin") == kubectl ]]; then
    out=$("$bin" version --client 2>/dev/null || true)
  else
    out=$("$bin" --version 2>/dev/null || true)
  fi
  [[ $out == *"$want"* ]] || [[ $out == *"${want#v}"* ]]
}

complete() {
  local bin
  for bin in "${k8s_bins[@]}"; do has_version "$k8s_dir/$bin" "$KUBERNETES_VERSION" || return 1; done
  has_version "$etcd_dir/etcd" "$ETCD_VERSION"
}

link_assets() {
  mkdir -p "$assets"
  local bin
  for bin in "${k8s_bins[@]}"; do ln -sfn "$k8s_dir/$bin" "$assets/$bin"; done
  ln -sfn "$etcd_dir/etcd" "$assets/etcd"
}

if [[ ${1:-} == --print ]]; then
  complete || { log "cluster binaries missing under $cache; run: make cluster-binaries"; exit 1; }
  link_assets
  echo "$assets"
  exit 0
fi

# A printer that shows the build is alive: go build is silent for minutes on a cold cache.
heartbeat() {
  local what=$1 start=$SECONDS
  while sleep 30; do log "still building $what ($((SECONDS - start))s)"; done
}

# build_in_module DIR WHAT: run the go build in DIR with a heartbeat.
run_with_heartbeat() {
  local what=$1; shift
  heartbeat "$what" & local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return $rc
}

# write_if_changed FILE: replace FILE with stdin when it differs; returns 0 when it changed.
write_if_changed() {
  local tmp; tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $1 ]] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}

build_kubernetes() {
  local src=$cache/src/kubernetes-$KUBERNETES_VERSION staging_version=v0.${k8s_minor}.${KUBERNETES_VERSION##*.}
  mkdir -p "$src" "$k8s_dir"
  log "resolving k8s.io/kubernetes $KUBERNETES_VERSION (staging modules at $staging_version)"
  local gomod changed=false
  gomod=$(cd "$src" && GOFLAGS=-mod=mod go list -m -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module ironfed.dev/tools/kubernetes"
    echo
    echo "go $GO_VERSION"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces, which do not apply
    # to a dependent module: point each at its published release instead.
    grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } | write_if_changed "$src/go.mod.in" && changed=true
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    local bin
    for bin in "${k8s_bins[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$bin"; done
    printf ')\n'
  } | write_if_changed "$src/tools.go" && changed=true
  if $changed || [[ ! -f $src/go.sum ]]; then
    cp "$src/go.mod.in" "$src/go.mod"
    (cd "$src" && run_with_heartbeat "go mod tidy (kubernetes)" go mod tidy)
  fi
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
  for bin in "${k8s_bins[@]}"; do
    has_version "$k8s_dir/$bin" "$KUBERNETES_VERSION" && { log "$bin $KUBERNETES_VERSION cached"; continue; }
    log "building $bin $KUBERNETES_VERSION (cold: ~7 min on 2 cores)"
    local t=$SECONDS
    (cd "$src" && run_with_heartbeat "$bin" go build -trimpath -ldflags "$ld" -o "$k8s_dir/$bin.tmp" "k8s.io/kubernetes/cmd/$bin")
    mv "$k8s_dir/$bin.tmp" "$k8s_dir/$bin"
    has_version "$k8s_dir/$bin" "$KUBERNETES_VERSION" || { log "$bin does not report $KUBERNETES_VERSION"; exit 1; }
    log "built $bin $KUBERNETES_VERSION in $((SECONDS - t))s"
  done
}

build_etcd() {
  has_version "$etcd_dir/etcd" "$ETCD_VERSION" && { log "etcd $ETCD_VERSION cached"; return; }
  local src=$cache/src/etcd-$ETCD_VERSION
  mkdir -p "$src" "$etcd_dir"
  if [[ ! -f $src/go.sum ]]; then
    printf 'module ironfed.dev/tools/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$GO_VERSION" "$ETCD_VERSION" >"$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$src/tools.go"
    (cd "$src" && run_with_heartbeat "go mod tidy (etcd)" go mod tidy)
  fi
  log "building etcd $ETCD_VERSION (cold: ~2 min)"
  local t=$SECONDS
  (cd "$src" && run_with_heartbeat etcd go build -trimpath -ldflags "-s -w" -o "$etcd_dir/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$etcd_dir/etcd.tmp" "$etcd_dir/etcd"
  has_version "$etcd_dir/etcd" "$ETCD_VERSION" || { log "etcd does not report $ETCD_VERSION"; exit 1; }
  log "built etcd $ETCD_VERSION in $((SECONDS - t))s"
}

start=$SECONDS
if complete; then
  log "kube-apiserver, kubectl $KUBERNETES_VERSION and etcd $ETCD_VERSION cached under $cache"
else
  build_etcd
  build_kubernetes
  log "cluster binaries ready in $((SECONDS - start))s"
fi
link_assets
echo "$assets"
