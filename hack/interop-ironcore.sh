#!/usr/bin/env bash
# Runs IronCore's own binaries against ironfed, side by side (docs/interop.md, "Pairings").
# By hand only; not part of make test.
#
# Needs IronCore's irictl-machine, irictl-volume, irictl-bucket, machinepoollet, volumepoollet,
# bucketpoollet and machinebroker in $IRONCORE_BIN_DIR, built from IronCore's source (this script
# does not fetch or build them). It brings up a local federation (`ironfed up`, in-process components,
# root → region → leaf), then:
#   a) IronCore irictl → the leaf's memory provider socket
#   b) IronCore irictl → the root's broker sockets (root → region)
#   c) IronCore machine/volume/bucket poollets → the leaf cluster, on the memory provider socket,
#      announcing pools ic-machine / ic-volume / ic-bucket; a Machine, Volume and Bucket created
#      on those pools must reach the provider
#   d') ironfed's machinepoollet → IronCore's machinebroker → the leaf cluster (ironfed CRDs)
# Everything listens on loopback or unix sockets; every process started here is stopped by pid.
# Output and logs: $WORK (default: a new temp dir), printed at the end.
set -uo pipefail

: "${IRONCORE_BIN_DIR:?set IRONCORE_BIN_DIR to the directory of the IronCore binaries}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/ironfed-interop-XXXXXX)}
mkdir -p "$WORK/logs" "$WORK/out"
ASSETS=$("$ROOT/hack/cluster-binaries.sh" --print)
KUBECTL=$ASSETS/kubectl
IC=$IRONCORE_BIN_DIR
# shellcheck source=hack/interop/lib.sh
source "$ROOT/hack/interop/lib.sh"

for b in irictl-machine irictl-volume irictl-bucket machinepoollet volumepoollet bucketpoollet machinebroker; do
	[ -x "$IC/$b" ] || { echo "missing $IC/$b" >&2; exit 1; }
done

log "building ironfed"
(cd "$ROOT" && nice -n 19 go build -o "$WORK/ironfed" ./cmd/ironfed) || exit 1
FED=$WORK/fed
start ironfed-up "$WORK/ironfed" up --dir "$FED"
wait_for 300 grep -q "federation up in" "$WORK/logs/ironfed-up.log" || { log "ironfed up did not come up"; exit 1; }
# Lines like "[ironfed 07:52:05] memory provider     leaf     unix:///tmp/.../leaf-memory.sock".
sock() { awk -v re="$1" '$0 ~ re {sub("^unix://", "", $NF); print $NF; exit}' "$WORK/logs/ironfed-up.log"; }
MEM=$(sock '] memory provider +leaf ')
MB=$(sock '] machinebroker +root ')
VB=$(sock '] volumebroker +root ')
BB=$(sock '] bucketbroker +root ')
LEAF=$FED/leaf/kubeconfig
k() { "$KUBECTL" --kubeconfig "$LEAF" "$@"; }
log "memory provider $MEM; root brokers $MB $VB $BB"

# irictl_pairing NAME MACHINE VOLUME BUCKET: create/list/delete through IronCore's irictl.
irictl_pairing() {
	local name=$1 msock=$2 vsock=$3 bsock=$4 id ok=1
	NOTES=()
	run "$name-version" "$IC/irictl-machine" --address "$msock" get version || ok=0
	run "$name-status" "$IC/irictl-machine" --address "$msock" get status -o yaml || ok=0
	if grep -A3 "resources:" "$WORK/out/$name-status.txt" | grep -q "cpu: 2$"; then
		note "status classes in whole units (m-small cpu 2)"
	else
		ok=0; note "m-small not reported with cpu 2"
	fi
	run "$name-create" "$IC/irictl-machine" --address "$msock" create machine -f "$ROOT/hack/interop/machine.yaml" || ok=0
	id=$(awk '$1 == "Created" && $2 == "machine" {print $3; exit}' "$WORK/out/$name-create.txt")
	[ -n "$id" ] || { ok=0; note "create returned no id"; }
	# A retried create with the same poollet UID label returns the same machine.
	run "$name-create-again" "$IC/irictl-machine" --address "$msock" create machine -f "$ROOT/hack/interop/machine.yaml"
	grep -q "Created machine $id" "$WORK/out/$name-create-again.txt" && note "retried create returns the same id" || note "retried create minted a new id"
	wait_for 60 sh -c "'$IC/irictl-machine' --address '$msock' get machine $id | grep -q MACHINE_RUNNING" || note "machine not MACHINE_RUNNING within 60s"
	run "$name-list" "$IC/irictl-machine" --address "$msock" get machine || ok=0
	grep -q "$id" "$WORK/out/$name-list.txt" || { ok=0; note "created machine not listed"; }
	# Events carry Unix seconds; irictl asks for the last 10 minutes in seconds.
	wait_for 30 sh -c "'$IC/irictl-machine' --address '$msock' get events -d 10m | grep -q $id"
	run "$name-events" "$IC/irictl-machine" --address "$msock" get events -d 10m -o yaml || ok=0
	grep -q "$id" "$WORK/out/$name-events.txt" && note "events of the machine listed in a 10m window (seconds)" || { ok=0; note "no event of the machine in a 10m window"; }
	grep -qE "event_time: [0-9]{10}$" "$WORK/out/$name-events.txt" && note "event_time in seconds"
	run "$name-volume-status" "$IC/irictl-volume" --address "$vsock" get status || ok=0
	run "$name-volume-list" "$IC/irictl-volume" --address "$vsock" get volume || ok=0
	run "$name-bucket-classes" "$IC/irictl-bucket" --address "$bsock" get bucketclass || ok=0
	run "$name-delete" "$IC/irictl-machine" --address "$msock" delete machine "$id" || ok=0
	run "$name-delete-again" "$IC/irictl-machine" --address "$msock" delete machine "$id" && note "second delete succeeds" || note "second delete fails"
	wait_for 60 sh -c "! '$IC/irictl-machine' --address '$msock' get machine | grep -q $id" && note "machine gone after delete" || { ok=0; note "machine still listed 60s after delete"; }
	result "$name" "$([ $ok = 1 ] && echo works || echo BROKEN)" "$(IFS=';'; echo "${NOTES[*]}")"
}

log "a) IronCore irictl → ironfed memory provider"
irictl_pairing a-irictl-memory "unix://$MEM" "unix://$MEM" "unix://$MEM"
log "b) IronCore irictl → ironfed brokers (root → region)"
irictl_pairing b-irictl-brokers "unix://$MB" "unix://$VB" "unix://$BB"

log "c) IronCore poollets → ironfed leaf cluster, memory provider socket"
common=(--kubeconfig "$LEAF" --leader-election-kubeconfig "$LEAF" --metrics-bind-address 0 --dial-timeout 5s)
start ic-machinepoollet "$IC/machinepoollet" "${common[@]}" --machine-pool-name ic-machine \
	--machine-runtime-endpoint "unix://$MEM" --health-probe-bind-address 127.0.0.1:0 \
	--address "127.0.0.1:$(free_port)" --insecure-disable-auth --cert-dir "$WORK/ic-machinepoollet-certs" \
	--addresses-ip-override 127.0.0.1 --provider-id ironcore-interop://machine
start ic-volumepoollet "$IC/volumepoollet" "${common[@]}" --volume-pool-name ic-volume \
	--volume-runtime-endpoint "unix://$MEM" --health-probe-bind-address 127.0.0.1:0 \
	--controllers='*' --provider-id ironcore-interop://volume
start ic-bucketpoollet "$IC/bucketpoollet" "${common[@]}" --bucket-pool-name ic-bucket \
	--bucket-runtime-endpoint "unix://$MEM" --health-probe-bind-address 127.0.0.1:0 \
	--provider-id ironcore-interop://bucket
for kind in machine volume bucket; do
	NOTES=()
	if wait_for 90 k get "${kind}pool" "ic-$kind"; then
		note "pool announced"
	else
		note "pool not announced in 90s"
	fi
	k get "${kind}pool" "ic-$kind" -o yaml >"$WORK/out/c-${kind}pool.yaml" 2>&1
	grep -q "class/" "$WORK/out/c-${kind}pool.yaml" && note "capacity announced" || note "no class capacity"
	wait_for 20 k get lease -n "ironcore-${kind}pool-lease" "ic-$kind" && note "lease renewed" || note "no lease"
	k wait --for=condition=Ready "${kind}pool/ic-$kind" --timeout=15s >/dev/null 2>&1 && note "Ready=True" || note "no Ready=True"
	kill -0 "${PID_OF[ic-${kind}poollet]}" 2>/dev/null || note "poollet exited"
	(IFS=";"; echo "${NOTES[*]}") >"$WORK/out/c-$kind-notes.txt"
done
k apply -f "$ROOT/hack/interop/ironcore-poollet-objects.yaml" >"$WORK/out/c-apply.txt" 2>&1
reach() { "$IC/irictl-$1" --address "unix://$MEM" get "$1" -o yaml | grep -q "$1poollet.ironcore.dev/$1-uid: $(k get "$1" -n default "$2" -o jsonpath='{.metadata.uid}')"; }
for kind in machine volume bucket; do
	notes=$(cat "$WORK/out/c-$kind-notes.txt")
	obj=ic-$kind-0
	if wait_for 60 sh -c "$(declare -f reach k); KUBECTL='$KUBECTL' LEAF='$LEAF' IC='$IC' MEM='$MEM' reach $kind $obj"; then
		notes+="; $obj reached the provider"
		st="works"
	else
		notes+="; $obj did not reach the provider in 60s"
		st="BROKEN"
	fi
	k get "$kind" -n default "$obj" -o yaml >"$WORK/out/c-$obj.yaml" 2>&1
	state=$(k get "$kind" -n default "$obj" -o jsonpath='{.status.state}')
	notes+="; status.state=$state"
	errs=$(grep -cE '\bERROR\b|Unsupported Media Type' "$WORK/logs/ic-${kind}poollet.log")
	notes+="; $errs ERROR lines in its log"
	result "c-ironcore-${kind}poollet" "$st" "$notes"
done

# ic-machine-1 uses ic-volume-0: device from ironfed's admission, claim from ironfed's controller-manager,
# attachment by IronCore's machinepoollet.
wait_for 30 sh -c "'$KUBECTL' --kubeconfig '$LEAF' get machine -n default ic-machine-1 -o jsonpath='{.status.volumes[0].state}' | grep -q Attached"
result "c-ironcore-machinepoollet-volume" \
	"$(k get machine -n default ic-machine-1 -o jsonpath='{.status.volumes[0].state}' | grep -q Attached && echo works || echo BROKEN)" \
	"device=$(k get machine -n default ic-machine-1 -o jsonpath='{.spec.volumes[0].device}'); volume claimRef=$(k get volume -n default ic-volume-0 -o jsonpath='{.spec.claimRef.name}'); status.volumes[0].state=$(k get machine -n default ic-machine-1 -o jsonpath='{.status.volumes[0].state}')"

# A NetworkInterface: IronCore's machinepoollet binds it and updates NIC status.
k apply -f "$ROOT/hack/interop/ironcore-poollet-nic.yaml" >"$WORK/out/c-nic-apply.txt" 2>&1
wait_for 45 sh -c "'$KUBECTL' --kubeconfig '$LEAF' get machine -n default ic-machine-2 -o jsonpath='{.status.networkInterfaces[0].state}' | grep -q Attached"
k get machine -n default ic-machine-2 -o yaml >"$WORK/out/c-ic-machine-2.yaml" 2>&1
k get networkinterfaces,networks -n default -o yaml >"$WORK/out/c-nics.yaml" 2>&1
nicstate=$(k get machine -n default ic-machine-2 -o jsonpath='{.status.state}/{.status.networkInterfaces[0].state}')/$(k get networkinterface -n default ic-machine-2-primary -o jsonpath='{.status.state}')
n415=$(grep -c 'accepted media types include' "$WORK/logs/ic-machinepoollet.log")
firsterr=$(grep -m1 -E '\bERROR\b' "$WORK/logs/ic-machinepoollet.log" | grep -oE '"error": "[^"]{0,200}' | head -1)
result "c-ironcore-machinepoollet-nic" "$(echo "$nicstate" | grep -q '^Running/Attached/Available$' && [ "$n415" = 0 ] && echo works || echo BROKEN)" \
	"Machine state/Machine NIC state/NetworkInterface state: $nicstate; $n415 patches refused (415); first ERROR: ${firsterr:-none}"
k delete -f "$ROOT/hack/interop/ironcore-poollet-nic.yaml" --wait --timeout=60s >>"$WORK/out/c-nic-apply.txt" 2>&1

# A Bucket without a pool: ironfed's scheduler places it as IronCore's would, on the pool of IronCore's
# bucketpoollet (classes only: no state, no Ready, no capacity), where that poollet provisions it.
k apply -f - >"$WORK/out/c-bucket-scheduled.txt" 2>&1 <<'YAML'
apiVersion: storage.ironcore.dev/v1alpha1
kind: Bucket
metadata: {name: ic-bucket-1, namespace: default}
spec: {bucketClassRef: {name: standard}, bucketPoolSelector: {}}
YAML
wait_for 60 sh -c "$(declare -f reach k); KUBECTL='$KUBECTL' LEAF='$LEAF' IC='$IC' MEM='$MEM' reach bucket ic-bucket-1"
result "c-ironcore-bucketpoollet-scheduled" \
	"$([ "$(k get bucket -n default ic-bucket-1 -o jsonpath='{.spec.bucketPoolRef.name}/{.status.state}')" = ic-bucket/Available ] && echo works || echo BROKEN)" \
	"Bucket without bucketPoolRef: bound to pool '$(k get bucket -n default ic-bucket-1 -o jsonpath='{.spec.bucketPoolRef.name}')', state $(k get bucket -n default ic-bucket-1 -o jsonpath='{.status.state}')"
k delete bucket -n default ic-bucket-1 --wait --timeout=60s >>"$WORK/out/c-bucket-scheduled.txt" 2>&1

# Deletes through IronCore's poollets: the objects go (finalizers released) and leave the provider.
uids=$(k get machines,volumes,buckets -n default -o jsonpath='{range .items[*]}{.metadata.uid}{" "}{end}')
k delete -f "$ROOT/hack/interop/ironcore-poollet-objects.yaml" --wait --timeout=90s >"$WORK/out/c-delete.txt" 2>&1
left=$(k get machines,volumes,buckets -n default -o name | wc -l)
inprov=0
for kind in machine volume bucket; do
	"$IC/irictl-$kind" --address "unix://$MEM" get "$kind" -o yaml >"$WORK/out/c-after-delete-$kind.yaml" 2>&1
	for u in $uids; do grep -q "$u" "$WORK/out/c-after-delete-$kind.yaml" && inprov=$((inprov + 1)); done
done
result "c-ironcore-poollets-delete" "$([ "$left" = 0 ] && [ "$inprov" = 0 ] && echo works || echo BROKEN)" \
	"$left objects left in the cluster after 90s; $inprov left in the provider"

log "d') ironfed machinepoollet (region) → IronCore machinebroker → leaf cluster (ironfed CRDs)"
(cd "$ROOT" && nice -n 19 go build -o "$WORK/machinepoollet" ./cmd/machinepoollet) || exit 1
REGION=$FED/region/kubeconfig
k create namespace ic-broker >/dev/null 2>&1
start ic-machinebroker "$IC/machinebroker" --kubeconfig "$LEAF" --namespace ic-broker \
	--machine-pool-name leaf-memory --address "$WORK/ic-machinebroker.sock" \
	--streaming-address 127.0.0.1:0
wait_for 30 test -S "$WORK/ic-machinebroker.sock"
run d-status "$IC/irictl-machine" --address "unix://$WORK/ic-machinebroker.sock" get status
start ironfed-machinepoollet "$WORK/machinepoollet" --kubeconfig "$REGION" --machine-pool-name ic-broker \
	--provider-id ironcore-machinebroker://leaf --machine-runtime-endpoint "unix://$WORK/ic-machinebroker.sock" \
	--metrics-bind-address 0 --health-probe-bind-address 0
NOTES=()
kr() { "$KUBECTL" --kubeconfig "$REGION" "$@"; }
wait_for 60 kr wait --for=condition=Ready machinepool/ic-broker --timeout=1s && note "pool Ready" || note "pool not Ready in 60s"
kr get machinepool ic-broker -o yaml >"$WORK/out/d-machinepool.yaml" 2>&1
grep -q "class/machine.m-small" "$WORK/out/d-machinepool.yaml" && note "class m-small announced" || note "class m-small not announced"
kr apply -f - >"$WORK/out/d-apply.txt" 2>&1 <<'YAML'
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: via-ic-broker, namespace: default}
spec: {machineClassRef: {name: m-small}, machinePoolRef: {name: ic-broker}, power: "On"}
YAML
st=BROKEN
if wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$LEAF' get machines -n ic-broker -o name | grep -q ."; then
	note "downstream Machine created in ic-broker"
	if wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$REGION' get machine -n default via-ic-broker -o jsonpath='{.status.state}' | grep -q Running"; then
		note "Running at the region"; st=works
	else
		note "not Running at the region in 60s"
	fi
else
	note "no downstream Machine in 60s"
fi
kr get machine -n default via-ic-broker -o yaml >"$WORK/out/d-machine.yaml" 2>&1
k get machines -n ic-broker -o yaml >"$WORK/out/d-downstream.yaml" 2>&1
kr delete machine -n default via-ic-broker --wait --timeout=60s >"$WORK/out/d-delete.txt" 2>&1 && note "deleted at the region" || note "delete at the region did not finish in 60s"
wait_for 30 sh -c "[ -z \"\$('$KUBECTL' --kubeconfig '$LEAF' get machines -n ic-broker -o name)\" ]" && note "downstream Machine gone" || { note "downstream Machine still there"; st=BROKEN; }
result "d'-ironfed-poollet-ironcore-machinebroker" "$st" "$(IFS=';'; echo "${NOTES[*]}")"

print_results
