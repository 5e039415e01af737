#!/usr/bin/env bash
# Host prerequisites of the Ceph leaf (providers/ceph): the one-node test cluster's daemons and the
# headers go-ceph (cgo) compiles against. Idempotent: does nothing when everything is present.
#
#   hack/leaf-ceph.sh          install what is missing (apt-get, needs root)
#   hack/leaf-ceph.sh --check  exit 1 and name what is missing, install nothing
set -euo pipefail

log() { printf '[leaf-ceph %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

packages=(ceph-mon ceph-osd ceph-mgr radosgw ceph-common librados-dev librbd-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  log "missing Debian packages: ${missing[*]}"
  exit 1
fi
if [[ $(id -u) != 0 ]]; then
  log "missing Debian packages: ${missing[*]}"
  log "run as root, or: sudo apt-get install --no-install-recommends ${missing[*]}"
  exit 1
fi

log "installing ${missing[*]} (Ceph Pacific from Debian; ~2 min cold)"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
log "installed in $((SECONDS - start)) s"
