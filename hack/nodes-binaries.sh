#!/usr/bin/env bash
# Builds the node binaries of the node clusters (kubelet, kube-proxy, kube-scheduler) from the Go module proxy
# into the versioned cache beside the cluster binaries (hack/cluster-binaries.sh), skipping any binary that is
# already there and reports the pinned version. containerd, runc, CNI plugins come from Debian (hack/nodes-apt.sh).
#
#   hack/nodes-binaries.sh          build what is missing, print the directory on the last line
#   hack/nodes-binaries.sh --print  only print the directory (exit 1 if incomplete)
#
# Cold cost on 2 shared cores: kubelet ~8.5 min CPU (2.1 GB peak RSS), kube-proxy and kube-scheduler ~1 min each.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}
dir=$cache/k8s/$KUBERNETES_VERSION
k8s_minor=${KUBERNETES_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
bins=(kube-scheduler kube-proxy kubelet)

log() { printf '[nodes-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

has_version() {
  local out
  [[ -x $1 ]] || return 1
  out=$("$1" --version 2>/dev/null || true)
  [[ $out == *"$KUBERNETES_VERSION"* ]]
}

complete() {
  local bin
  for bin in "${bins[@]}"; do has_version "$dir/$bin" || return 1; done
}

if [[ ${1:-} == --print ]]; then
  complete || { log "node binaries missing under $dir; run: make node-binaries"; exit 1; }
  echo "$dir"
  exit 0
fi

heartbeat() {
  local start=$SECONDS
  while sleep 30; do log "still building $1 ($((SECONDS - start))s)"; done
}

run_with_heartbeat() {
  local what=$1; shift
  heartbeat "$what" & local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return $rc
}

if complete; then
  log "${bins[*]} $KUBERNETES_VERSION cached in $dir"
  echo "$dir"
  exit 0
fi

# A tool module of its own (the node binaries need two staging modules the control-plane ones do not:
# k8s.io/cri-client, k8s.io/cri-streaming); k8s.io/kubernetes requires its staging modules at v0.0.0 with
# local replaces, which do not apply to a dependent module: point each at its published release instead.
src=$cache/src/kubernetes-node-$KUBERNETES_VERSION
staging=v0.${k8s_minor}.${KUBERNETES_VERSION##*.}
mkdir -p "$src" "$dir"
if [[ ! -f $src/go.sum ]]; then
  log "resolving k8s.io/kubernetes $KUBERNETES_VERSION (staging modules at $staging)"
  gomod=$(cd "$src" && GOFLAGS=-mod=mod go list -m -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    printf 'module ironfed.dev/tools/kubernetes-node\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\n' "$GO_VERSION" "$KUBERNETES_VERSION"
    grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$src/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for bin in "${bins[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$bin"; done
    printf ')\n'
  } >"$src/tools.go"
  (cd "$src" && run_with_heartbeat "go mod tidy" go mod tidy) || { rm -f "$src/go.sum"; exit 1; }
fi
ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
start=$SECONDS
for bin in "${bins[@]}"; do
  has_version "$dir/$bin" && { log "$bin $KUBERNETES_VERSION cached"; continue; }
  log "building $bin $KUBERNETES_VERSION (cold kubelet: ~8.5 min CPU)"
  t=$SECONDS
  (cd "$src" && run_with_heartbeat "$bin" go build -trimpath -ldflags "$ld" -o "$dir/$bin.tmp" "k8s.io/kubernetes/cmd/$bin")
  mv "$dir/$bin.tmp" "$dir/$bin"
  has_version "$dir/$bin" || { log "$bin does not report $KUBERNETES_VERSION"; exit 1; }
  log "built $bin $KUBERNETES_VERSION in $((SECONDS - t))s"
done
log "node binaries ready in $((SECONDS - start))s"
echo "$dir"
