#!/usr/bin/env bash
# Builds the component binaries that `ironfed up` runs as processes (federation/localfed process
# mode: the binaries the Helm charts deploy) into a cache directory of this checkout, and prints it.
#   hack/component-binaries.sh           build (incremental: go's build cache) and print the directory
#   hack/component-binaries.sh --print   print the directory only
#   hack/component-binaries.sh --leaf    also the real leaf providers (`ironfed up --leaf`): libvirt-provider,
#                                        ceph-bucket-provider and ceph-volume-provider (cgo with librbd:
#                                        -tags=$CEPH_GO_TAGS, needs make ceph-prereqs)
# The directory is keyed by the checkout's path, so several worktrees never overwrite each other's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}
dir=$cache/bin/$(printf '%s' "$root" | sha256sum | cut -c1-12)
if [[ ${1:-} == --print ]]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
cd "$root"
exec 9>"$dir/.lock"
flock 9
pkgs=()
for b in ironfed-controller-manager memory-provider machinepoollet volumepoollet bucketpoollet machinebroker volumebroker bucketbroker; do
  pkgs+=("./cmd/$b")
done
start=$(date +%s)
${GO:-go} build -o "$dir/" "${pkgs[@]}"
if [[ ${1:-} == --leaf ]]; then
  ${GO:-go} build -o "$dir/" ./cmd/libvirt-provider ./cmd/ceph-bucket-provider
  # The same tags as the tests' build, so the cgo packages come from go's build cache.
  ${GO:-go} build -tags="${CEPH_GO_TAGS:-ceph,pacific}" -o "$dir/" ./cmd/ceph-volume-provider
fi
echo "component binaries in $dir ($(($(date +%s) - start)) s)" >&2
echo "$dir"
