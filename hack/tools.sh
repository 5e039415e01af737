#!/usr/bin/env bash
# Installs a pinned Go tool into the versioned cache and prints its path.
#
#   hack/tools.sh controller-gen | protoc-gen-go | protoc-gen-go-grpc | staticcheck
#   hack/tools.sh protoc          (Debian's protobuf-compiler; installed with apt-get when missing)
#
# Cache: ${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}/tools/<name>/<version>/<name>.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

go_tool() {
  local name=$1 pkg=$2 version=$3
  local dir=$cache/tools/$name/$version
  if [[ ! -x $dir/$name ]]; then
    log "installing $name $version"
    mkdir -p "$dir"
    GOBIN=$dir go install "$pkg@$version"
  fi
  echo "$dir/$name"
}

case ${1:-} in
  controller-gen) go_tool controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen "$CONTROLLER_GEN_VERSION" ;;
  protoc-gen-go) go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION" ;;
  protoc-gen-go-grpc) go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" ;;
  staticcheck) go_tool staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION" ;;
  protoc)
    if ! command -v protoc >/dev/null; then
      log "installing protoc (Debian protobuf-compiler)"
      if [[ $(id -u) == 0 ]]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler libprotobuf-dev) >&2
      else
        log "protoc missing and not root: apt-get install protobuf-compiler"; exit 1
      fi
    fi
    command -v protoc ;;
  *) echo "usage: $0 controller-gen|protoc-gen-go|protoc-gen-go-grpc|staticcheck|protoc" >&2; exit 2 ;;
esac
