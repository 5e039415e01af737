#!/usr/bin/env bash
# Builds the component binaries that `ironfed up` runs as processes (federation/localfed process
# mode: the binaries the Helm charts deploy) into a cache directory of this checkout, and prints it.
#   hack/component-binaries.sh           build (incremental: go's build cache) and print the directory
#   hack/component-binaries.sh --print   print the directory only
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
echo "component binaries in $dir ($(($(date +%s) - start)) s)" >&2
echo "$dir"
