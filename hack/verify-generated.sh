#!/usr/bin/env bash
# Regenerates everything and fails when that changed any generated file: committed generated code
# must match its sources. Compares before/after hashes, so it is correct with uncommitted edits too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

snapshot() {
  find . -path ./.git -prune -o -type f \( -name '*.pb.go' -o -name 'zz_generated*.go' -o -path './federation/api/crds/*.yaml' \
    -o -path './charts/*/crds/*.yaml' -o -path './charts/*/templates/_helpers.tpl' -o -path './charts/*/templates/_poollet.tpl' \
    -o -path './charts/*/templates/admission-*.yaml' \) -print0 |
    sort -z | xargs -0 -r sha256sum
}
before=$(snapshot)
for g in hack/gen-*.sh; do bash "$g" >/dev/null; done
after=$(snapshot)
if [[ $before != "$after" ]]; then
  echo "generated code is stale; run 'make generate' and commit:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "generated code is up to date"
