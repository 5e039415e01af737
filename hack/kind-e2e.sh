#!/usr/bin/env bash
# The Helm e2e (test/helme2e) against kind clusters, for users with Docker: three kind clusters
# root, region and leaf (kind and its node image pinned in hack/versions.env), the images of
# make images loaded with kind load image-archive, then the same test code as make test runs on
# node clusters, given the clusters by $IRONFED_E2E_KUBECONFIGS and $IRONFED_E2E_SERVERS.
#
#   hack/kind-e2e.sh            create the clusters, run the test, delete the clusters
#   KEEP_CLUSTERS=1 hack/kind-e2e.sh   keep them (kind delete cluster --name ironfed-<level>)
#
# Unverified on the CI machine (no Docker there); the node clusters of make test run the same test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}
levels=(root region leaf)

log() { printf '[kind-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v docker >/dev/null || { log "needs docker (kind runs each cluster in a container)"; exit 1; }
docker info >/dev/null 2>&1 || { log "docker is not usable by $(id -un)"; exit 1; }

kind=$cache/tools/kind/$KIND_VERSION/kind
if [[ ! -x $kind ]]; then
  log "building kind $KIND_VERSION from the module proxy"
  mkdir -p "$(dirname "$kind")"
  GOBIN=$(dirname "$kind") go install "sigs.k8s.io/kind@$KIND_VERSION"
fi

cd "$root"
assets=$(hack/cluster-binaries.sh)            # kubectl for the test
helm=$(hack/chart-tools.sh helm)
go run ./hack/images >/dev/null
images_env=$cache/images/images.env
# shellcheck disable=SC1090
source "$images_env"

work=$(mktemp -d)
declare -A subnet=([root]=10.244.0.0/16 [region]=10.245.0.0/16 [leaf]=10.246.0.0/16)
cleanup() {
  if [[ -z ${KEEP_CLUSTERS:-} ]]; then
    for l in "${levels[@]}"; do
      "$kind" delete cluster --name "ironfed-$l" >/dev/null 2>&1 || true
      ip route del "${subnet[$l]}" 2>/dev/null || true
    done
  else
    log "clusters kept; kubeconfigs in $work"
  fi
}
trap cleanup EXIT

kubeconfigs=() servers=()
for l in "${levels[@]}"; do
  name=ironfed-$l
  log "creating kind cluster $name ($KIND_NODE_IMAGE, pods ${subnet[$l]})"
  # Distinct pod ranges: the console endpoints the poollets advertise are pod IPs, routed below.
  printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  podSubnet: "%s"\n' "${subnet[$l]}" >"$work/$l.kind.yaml"
  "$kind" create cluster --name "$name" --image "$KIND_NODE_IMAGE" --config "$work/$l.kind.yaml" --kubeconfig "$work/$l.kubeconfig" --wait 3m
  for tar in "$IRONFED_PAUSE_TAR" "$IRONFED_IMAGE_TAR"; do
    "$kind" load image-archive "$tar" --name "$name"
  done
  kubeconfigs+=("$l=$work/$l.kubeconfig")
  # The address the other clusters' pods reach (the node containers share Docker's kind network).
  servers+=("$l=$("$kind" get kubeconfig --internal --name "$name" | sed -n 's/^ *server: //p' | head -1)")
done

# Each cluster's pod range through its node container, from the other nodes and from this host (the
# test opens a console at the root's poollet pod; adding the host route needs root).
for l in "${levels[@]}"; do
  ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "ironfed-$l-control-plane")
  for o in "${levels[@]}"; do
    [[ $o == "$l" ]] || docker exec "ironfed-$o-control-plane" ip route replace "${subnet[$l]}" via "$ip"
  done
  ip route replace "${subnet[$l]}" via "$ip" || log "cannot route ${subnet[$l]} from this host (not root?): the console step will fail"
done

log "running test/helme2e against the kind clusters"
IRONFED_E2E_KUBECONFIGS=$(IFS=,; echo "${kubeconfigs[*]}") \
IRONFED_E2E_SERVERS=$(IFS=,; echo "${servers[*]}") \
IRONFED_IMAGES_ENV=$images_env IRONFED_HELM=$helm IRONFED_ASSETS=$assets \
  go test -count=1 -v -timeout 30m -run TestHelmFederation ./test/helme2e/
