#!/usr/bin/env bash
# Installs what the node clusters (test/nodecluster) need from Debian: containerd, runc, the CNI
# plugins, iptables, conntrack, socat. Idempotent: nothing happens when they are installed.
# Needs root to install; otherwise it names the command to run.
set -euo pipefail

pkgs=(containerd runc containernetworking-plugins iptables conntrack socat)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "node clusters need Debian packages: ${missing[*]}; run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "[nodes-prereqs] installing ${missing[*]}" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
