#!/usr/bin/env bash
# Copies what the Helm charts share with the rest of the repository into them, so every chart is
# self-contained (helm package, helm install from a directory) and cannot drift:
#   - federation/api/crds/*.yaml        -> charts/ironfed-control-plane/crds/
#   - federation/api/admission/*.yaml   -> charts/ironfed-control-plane/templates/admission-*.yaml
#   - hack/charts/_helpers.tpl          -> charts/*/templates/_helpers.tpl
#   - hack/charts/_poollet.tpl          -> charts/{ironfed-broker,ironfed-leaf}/templates/_poollet.tpl
# Runs after hack/gen-api.sh (make generate runs hack/gen-*.sh in name order); checked by
# hack/verify-generated.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

header() { printf '{{/* Generated from %s by hack/gen-charts.sh: edit the source, then run make generate. */}}\n' "$1"; }

crds=charts/ironfed-control-plane/crds
rm -f "$crds"/*.yaml
mkdir -p "$crds"
cp federation/api/crds/*.yaml "$crds"/

# Admission policies (IronCore's volume devices, volume size bounds): templates, so they are
# installed after the CRDs they match. They contain no template actions.
rm -f charts/ironfed-control-plane/templates/admission-*.yaml
for f in federation/api/admission/*.yaml; do
  { header "$f"; cat "$f"; } >"charts/ironfed-control-plane/templates/admission-$(basename "$f")"
done

for chart in charts/*/; do
  chart=${chart%/}
  { header hack/charts/_helpers.tpl; cat hack/charts/_helpers.tpl; } >"$chart/templates/_helpers.tpl"
done
for chart in charts/ironfed-broker charts/ironfed-leaf; do
  { header hack/charts/_poollet.tpl; cat hack/charts/_poollet.tpl; } >"$chart/templates/_poollet.tpl"
done
