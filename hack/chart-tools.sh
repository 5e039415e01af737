#!/usr/bin/env bash
# Builds the chart tools (helm, kubeconform) from the Go module proxy into the versioned cache outside the
# repository, once; later runs only check the version and print the paths.
#
#   hack/chart-tools.sh          build what is missing; print "helm=PATH" and "kubeconform=PATH"
#   hack/chart-tools.sh helm     build if missing and print only helm's path (likewise kubeconform)
#
# Cache: ${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}/tools/<name>/<version>/<name>.
# Cold cost on this machine kind (2 cores): helm ~6.5 min CPU and ~1.1 GB RSS, kubeconform ~30 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}

log() { printf '[chart-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# heartbeat WHAT: go install is silent for minutes on a cold cache.
run_with_heartbeat() {
  local what=$1 start=$SECONDS; shift
  (while sleep 30; do log "still building $what ($((SECONDS - start))s)"; done) & local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return $rc
}

helm_bin() {
  local dir=$cache/tools/helm/$HELM_VERSION
  if ! [[ -x $dir/helm && $("$dir/helm" version --template '{{.Version}}' 2>/dev/null) == "$HELM_VERSION" ]]; then
    mkdir -p "$dir"
    local major=${HELM_VERSION%%.*} t=$SECONDS
    # Without the -X flags helm reports a short, wrong version (and charts' kubeVersion checks use it).
    local pkg=helm.sh/helm/$major
    local ld="-s -w -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.metadata= -X $pkg/internal/version.gitTreeState=clean"
    log "building helm $HELM_VERSION (cold: ~6.5 min CPU, ~1.1 GB RSS)"
    GOBIN=$dir run_with_heartbeat helm go install -trimpath -ldflags "$ld" "$pkg/cmd/helm@$HELM_VERSION"
    log "built helm $HELM_VERSION in $((SECONDS - t))s"
  fi
  echo "$dir/helm"
}

kubeconform_bin() {
  local dir=$cache/tools/kubeconform/$KUBECONFORM_VERSION
  if [[ ! -x $dir/kubeconform ]]; then
    mkdir -p "$dir"
    local t=$SECONDS
    log "building kubeconform $KUBECONFORM_VERSION"
    GOBIN=$dir run_with_heartbeat kubeconform go install -trimpath -ldflags "-s -w" \
      "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
    log "built kubeconform $KUBECONFORM_VERSION in $((SECONDS - t))s"
  fi
  echo "$dir/kubeconform"
}

case ${1:-} in
  helm) helm_bin ;;
  kubeconform) kubeconform_bin ;;
  "") echo "kubeconform=$(kubeconform_bin)"; echo "helm=$(helm_bin)" ;;
  *) echo "usage: $0 [helm|kubeconform]" >&2; exit 2 ;;
esac
