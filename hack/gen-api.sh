#!/usr/bin/env bash
# Regenerates the API code and manifests of federation/api:
#   - zz_generated.deepcopy.go in every API package,
#   - the CRD manifests in federation/api/crds/ (embedded by package crds).
# Deterministic; runs from any working directory.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

controller_gen=$("$root/hack/tools.sh" controller-gen)

# Only the type packages: federation/api/crds embeds the generated YAML and
# does not compile while it is missing.
paths='./federation/api/common/...;./federation/api/compute/...;./federation/api/storage/...;./federation/api/networking/...;./federation/api/ipam/...'

"$controller_gen" \
  object:headerFile=hack/boilerplate.go.txt \
  paths="$paths"

# Generate into a scratch directory and swap, so CRDs of removed kinds vanish
# and a failed run leaves the old manifests in place.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$controller_gen" \
  crd:allowDangerousTypes=false,generateEmbeddedObjectMeta=true \
  paths="$paths" \
  output:crd:artifacts:config="$out"

rm -f federation/api/crds/*.yaml
cp "$out"/*.yaml federation/api/crds/
