#!/usr/bin/env bash
# Generates the Go code for the IRI protos (iri/apis/*/v1alpha1/*.proto):
# *.pb.go and *_grpc.pb.go next to each .proto. Proto path root: iri/apis.
#
#   hack/gen-proto.sh
#
# Deterministic (pinned plugins and protoc version from hack/versions.env; protoc
# itself is Debian's protobuf-compiler); runnable from any directory. Stale generated files are removed
# first, so a deleted .proto leaves no Go code behind.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
apis=$root/iri/apis
# shellcheck source=versions.env
source "$root/hack/versions.env"
expected_protoc=$PROTOC_VERSION

log() { printf '[gen-proto %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

protoc=$("$root/hack/tools.sh" protoc)
gen_go=$("$root/hack/tools.sh" protoc-gen-go)
gen_go_grpc=$("$root/hack/tools.sh" protoc-gen-go-grpc)

version=$("$protoc" --version | awk '{print $2}')
if [[ $version != "$expected_protoc" ]]; then
  # The version ends up in the generated headers: a different protoc gives a diff.
  log "warning: protoc $version, expected $expected_protoc (generated headers will differ)"
fi

cd "$apis"
# Relative, sorted paths: the "source:" lines and descriptors do not depend on
# where the repository lives or on directory listing order.
mapfile -t protos < <(find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
if [[ ${#protos[@]} == 0 ]]; then
  log "no .proto files under $apis"; exit 1
fi

find . \( -name '*.pb.go' \) -type f -delete

log "generating ${#protos[@]} files with protoc $version"
"$protoc" \
  --proto_path=. \
  --plugin=protoc-gen-go="$gen_go" \
  --plugin=protoc-gen-go-grpc="$gen_go_grpc" \
  --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  "${protos[@]}"
log "done"
