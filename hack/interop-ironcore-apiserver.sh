#!/usr/bin/env bash
# Runs ironfed's brokers and poollets over IronCore's aggregated apiserver (docs/interop.md, "Pairings").
# By hand only, as root; not part of make test.
#
# Needs ironcore-apiserver and machinebroker in $IRONCORE_BIN_DIR, built from IronCore's source (this
# script does not fetch or build them). It starts one cluster by hand, "D": etcd and kube-apiserver
# (the cached ones of hack/cluster-binaries.sh) with the aggregation layer configured (front-proxy CA,
# requestheader flags, --enable-aggregator-routing), a kube-controller-manager (garbage collection,
# namespaces), and IronCore's apiserver on the same etcd under its own prefix, serving
# compute/storage/networking/ipam/core.ironcore.dev through APIServices. kube-apiserver reaches it at an
# RFC1918 /32 on a port-less bridge this script creates ($IFACE, $IFACE_IP) and removes at the end
# (Endpoints may not be loopback; this kernel has no dummy interfaces). On D it runs:
#   0) ironfed's machine/volume/bucket poollets over ironfed's memory provider, pools "dpool", and
#      ironfed's controller-manager: ironfed poollets on IronCore's apiserver
#   1) ironfed's machine/volume/bucket brokers (namespace "brokered", pool "dpool"), then the IRI
#      conformance suite (cmd/iri-conformance) against their sockets
#   2) IronCore's machinebroker (namespace "icbroker", pool "dpool") and ironfed's machinepoollet on
#      its socket announcing pool "icb" on D: a Machine on "icb" goes ironfed poollet → IronCore
#      machinebroker → Machine on "dpool" → ironfed machinepoollet → memory provider; 2a) the same with an
#      emptyDisk volume; 2b) for reference, the machine conformance cases against IronCore's machinebroker
# Env: IRONFED_BIN_DIR (ironfed's binaries, built otherwise), PAUSE=1 (keep everything running at the end
# until $WORK/pause is removed), IFACE/IFACE_IP (the bridge and its address).
# Every process started here is stopped by pid. Output and logs: $WORK (default: a new temp dir).
set -uo pipefail

: "${IRONCORE_BIN_DIR:?set IRONCORE_BIN_DIR to the directory of the IronCore binaries}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/ironfed-icapi-XXXXXX)}
mkdir -p "$WORK/logs" "$WORK/out" "$WORK/pki" "$WORK/bin"
ASSETS=$("$ROOT/hack/cluster-binaries.sh" --print)
KUBECTL=$ASSETS/kubectl
IC=$IRONCORE_BIN_DIR
IFACE=${IFACE:-icapi0}
IFACE_IP=${IFACE_IP:-10.213.77.1}
# shellcheck source=hack/interop/lib.sh
source "$ROOT/hack/interop/lib.sh"

for b in ironcore-apiserver machinebroker; do
	[ -x "$IC/$b" ] || { echo "missing $IC/$b" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (creates the bridge $IFACE)" >&2; exit 1; }
if ip link show "$IFACE" >/dev/null 2>&1; then
	echo "interface $IFACE exists already; set IFACE to another name" >&2
	exit 1
fi
IFACE_MADE=
cleanup_extra() { [ -n "$IFACE_MADE" ] && ip link del "$IFACE" && log "removed interface $IFACE"; }

# IRONFED_BIN_DIR: ironfed's binaries built already (e.g. by an earlier run); built into $WORK/bin otherwise.
B=${IRONFED_BIN_DIR:-$WORK/bin}
if [ -z "${IRONFED_BIN_DIR:-}" ]; then
	log "building ironfed's binaries"
	(cd "$ROOT" && nice -n 19 go build -o "$WORK/bin/" ./cmd/memory-provider ./cmd/machinepoollet ./cmd/volumepoollet \
		./cmd/bucketpoollet ./cmd/machinebroker ./cmd/volumebroker ./cmd/bucketbroker \
		./cmd/ironfed-controller-manager ./cmd/iri-conformance) || exit 1
fi

log "PKI in $WORK/pki"
P=$WORK/pki
# ca NAME: a self-signed EC CA.
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1" \
	-keyout "$P/$1.key" -out "$P/$1.crt" 2>/dev/null; }
# cert NAME CA SUBJECT EXT: a leaf certificate signed by CA.
cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$3" \
		-keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" -CAcreateserial -days 2 \
			-extfile <(printf '%s\n' "$4") -out "$P/$1.crt" 2>/dev/null
}
ca ca && ca front-proxy-ca || exit 1
cert apiserver ca /CN=kube-apiserver "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost
extendedKeyUsage=serverAuth" &&
	cert admin ca "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth" &&
	cert front-proxy-client front-proxy-ca /CN=front-proxy-client "extendedKeyUsage=clientAuth" &&
	openssl genrsa -out "$P/sa.key" 2048 2>/dev/null || exit 1

ETCD_PORT=$(free_port) PEER_PORT=$(free_port) API_PORT=$(free_port) IC_PORT=$(free_port)
ETCD=http://127.0.0.1:$ETCD_PORT
start etcd "$ASSETS/etcd" --name d --data-dir "$WORK/etcd" --listen-client-urls "$ETCD" \
	--advertise-client-urls "$ETCD" --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
	--initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-cluster "d=http://127.0.0.1:$PEER_PORT" \
	--unsafe-no-fsync --log-level=warn
start kube-apiserver "$ASSETS/kube-apiserver" --advertise-address=127.0.0.1 --bind-address=127.0.0.1 \
	--secure-port="$API_PORT" --etcd-servers="$ETCD" --cert-dir="$WORK/apiserver" \
	--tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
	--service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$P/sa.key" \
	--service-account-signing-key-file="$P/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
	--authorization-mode=RBAC --endpoint-reconciler-type=none --enable-priority-and-fairness=false \
	--requestheader-client-ca-file="$P/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
	--requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
	--requestheader-extra-headers-prefix=X-Remote-Extra- \
	--proxy-client-cert-file="$P/front-proxy-client.crt" --proxy-client-key-file="$P/front-proxy-client.key" \
	--enable-aggregator-routing=true --profiling=false --v=1
KCFG=$WORK/kubeconfig
"$KUBECTL" config --kubeconfig "$KCFG" set-cluster d --server "https://127.0.0.1:$API_PORT" \
	--certificate-authority "$P/ca.crt" --embed-certs >/dev/null
"$KUBECTL" config --kubeconfig "$KCFG" set-credentials admin --client-certificate "$P/admin.crt" \
	--client-key "$P/admin.key" --embed-certs >/dev/null
"$KUBECTL" config --kubeconfig "$KCFG" set-context d --cluster d --user admin >/dev/null
"$KUBECTL" config --kubeconfig "$KCFG" use-context d >/dev/null
k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }
wait_for 90 k get --raw /readyz || { log "kube-apiserver not ready in 90s"; exit 1; }
start kube-controller-manager "$ASSETS/kube-controller-manager" --kubeconfig="$KCFG" \
	--controllers=garbagecollector,namespace,serviceaccount --leader-elect=false --secure-port=0 \
	--root-ca-file="$P/ca.crt" --service-account-private-key-file="$P/sa.key" --v=1

log "IronCore's apiserver on $IFACE_IP:$IC_PORT ($IFACE), aggregated into kube-apiserver"
ip link add "$IFACE" type bridge && IFACE_MADE=1 && ip addr add "$IFACE_IP/32" dev "$IFACE" && ip link set "$IFACE" up || exit 1
start ironcore-apiserver "$IC/ironcore-apiserver" --etcd-servers="$ETCD" --bind-address="$IFACE_IP" \
	--secure-port="$IC_PORT" --cert-dir="$WORK/ironcore-apiserver" --kubeconfig="$KCFG" \
	--authentication-kubeconfig="$KCFG" --authorization-kubeconfig="$KCFG" \
	--enable-priority-and-fairness=false --v=1
k apply -f - >"$WORK/out/aggregation.txt" 2>&1 <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: ironcore-system}
---
apiVersion: v1
kind: Service
metadata: {name: ironcore-apiserver, namespace: ironcore-system}
spec:
  ports: [{name: https, port: 443, targetPort: $IC_PORT, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ironcore-apiserver, namespace: ironcore-system}
subsets:
- addresses: [{ip: $IFACE_IP}]
  ports: [{name: https, port: $IC_PORT, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ironcore-apiserver-1
  namespace: ironcore-system
  labels: {kubernetes.io/service-name: ironcore-apiserver}
addressType: IPv4
endpoints: [{addresses: ["$IFACE_IP"], conditions: {ready: true}}]
ports: [{name: https, port: $IC_PORT, protocol: TCP}]
YAML
for g in compute storage networking ipam core; do
	k apply -f - >>"$WORK/out/aggregation.txt" 2>&1 <<YAML
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.$g.ironcore.dev}
spec:
  group: $g.ironcore.dev
  version: v1alpha1
  service: {name: ironcore-apiserver, namespace: ironcore-system, port: 443}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 2000
  versionPriority: 100
YAML
done
NOTES=()
if wait_for 120 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get apiservices -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[0].status} {end}' | grep -o 'ironcore.dev=True' | wc -l | grep -qx 5"; then
	note "5 APIServices Available"
else
	note "APIServices not all Available in 120s"
fi
k get apiservices -o wide >"$WORK/out/apiservices.txt" 2>&1
k api-resources --api-group=compute.ironcore.dev >"$WORK/out/api-resources.txt" 2>&1
grep -q '^machines ' "$WORK/out/api-resources.txt" && note "compute.ironcore.dev served (machines, machinepools, ...)" || note "compute.ironcore.dev not served"
result "aggregation" "$(grep -q '^machines ' "$WORK/out/api-resources.txt" && echo works || echo BROKEN)" "$(IFS=';'; echo "${NOTES[*]}")"
grep -q '^machines ' "$WORK/out/api-resources.txt" || { print_results; exit 1; }

log "classes and namespaces on D"
k apply -f - >"$WORK/out/seed.txt" 2>&1 <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: brokered}
---
apiVersion: v1
kind: Namespace
metadata: {name: icbroker}
---
apiVersion: v1
kind: Namespace
metadata: {name: ironcore-machinepool-lease}
---
apiVersion: v1
kind: Namespace
metadata: {name: ironcore-volumepool-lease}
---
apiVersion: v1
kind: Namespace
metadata: {name: ironcore-bucketpool-lease}
---
apiVersion: compute.ironcore.dev/v1alpha1
kind: MachineClass
metadata: {name: m-small}
capabilities: {cpu: "2", memory: 4Gi}
---
apiVersion: compute.ironcore.dev/v1alpha1
kind: MachineClass
metadata: {name: m-large}
capabilities: {cpu: "8", memory: 32Gi}
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: VolumeClass
metadata: {name: fast}
capabilities: {tps: 250Mi, iops: "15000"}
# IronCore's default is Static (no resize); ironfed's classes let volumes grow.
resizePolicy: ExpandOnly
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: BucketClass
metadata: {name: standard}
capabilities: {tps: 100Mi, iops: "5000"}
YAML
[ $? = 0 ] || { log "seeding D failed: $(cat "$WORK/out/seed.txt")"; exit 1; }

log "0) ironfed poollets and controller-manager on D, memory provider"
start memory-provider "$B/memory-provider" --socket-dir "$WORK" --metrics-bind-address 0 --health-probe-bind-address 0
wait_for 30 test -S "$WORK/iri-bucketprovider.sock"
start ironfed-controller-manager "$B/ironfed-controller-manager" --kubeconfig "$KCFG" \
	--metrics-bind-address 0 --health-probe-bind-address 0
for kind in machine volume bucket; do
	start "ironfed-${kind}poollet" "$B/${kind}poollet" --kubeconfig "$KCFG" --"$kind"-pool-name dpool \
		--provider-id "memory://dpool" --"$kind"-runtime-endpoint "unix://$WORK/iri-${kind}provider.sock" \
		--metrics-bind-address 0 --health-probe-bind-address 0
done
for kind in machine volume bucket; do
	NOTES=()
	wait_for 60 k get "${kind}pool" dpool && note "pool announced" || note "pool not announced in 60s"
	k get "${kind}pool" dpool -o yaml >"$WORK/out/0-${kind}pool.yaml" 2>&1
	grep -q "class/" "$WORK/out/0-${kind}pool.yaml" && note "capacity announced" || note "no class capacity"
	wait_for 20 k get lease -n "ironcore-${kind}pool-lease" dpool && note "lease renewed" || note "no lease"
	wait_for 30 k wait --for=condition=Ready "${kind}pool/dpool" --timeout=1s && note "Ready=True" || note "no Ready=True"
	kill -0 "${PID_OF[ironfed-${kind}poollet]}" 2>/dev/null || note "poollet exited"
	(IFS=";"; echo "${NOTES[*]}") >"$WORK/out/0-$kind-notes.txt"
done
k apply -f - >"$WORK/out/0-apply.txt" 2>&1 <<'YAML'
apiVersion: storage.ironcore.dev/v1alpha1
kind: Volume
metadata: {name: d-volume-0, namespace: default}
spec: {volumeClassRef: {name: fast}, volumePoolRef: {name: dpool}, resources: {storage: 1Gi}}
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: Bucket
metadata: {name: d-bucket-0, namespace: default}
spec: {bucketClassRef: {name: standard}, bucketPoolRef: {name: dpool}}
---
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: d-machine-0, namespace: default}
spec:
  machineClassRef: {name: m-small}
  machinePoolRef: {name: dpool}
  power: "On"
  volumes: [{name: data, volumeRef: {name: d-volume-0}}]
YAML
declare -A WANT=([machine]=Running [volume]=Available [bucket]=Available)
for kind in machine volume bucket; do
	notes=$(cat "$WORK/out/0-$kind-notes.txt")
	obj=d-$kind-0 st=BROKEN
	if wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get $kind -n default $obj -o jsonpath='{.status.state}' | grep -qx ${WANT[$kind]}"; then
		st=works
	fi
	k get "$kind" -n default "$obj" -o yaml >"$WORK/out/0-$obj.yaml" 2>&1
	notes+="; $obj state=$(k get "$kind" -n default "$obj" -o jsonpath='{.status.state}')"
	[ "$kind" = machine ] && notes+="; device=$(k get machine -n default "$obj" -o jsonpath='{.spec.volumes[0].device}') volume=$(k get machine -n default "$obj" -o jsonpath='{.status.volumes[0].state}') claimRef=$(k get volume -n default d-volume-0 -o jsonpath='{.spec.claimRef.name}')"
	notes+="; $(grep -cE '"level":"error"|\bERROR\b' "$WORK/logs/ironfed-${kind}poollet.log") error lines in its log"
	if grep -q '"msg":"Refreshing pool status"' "$WORK/logs/ironfed-${kind}poollet.log"; then
		# The object works, the pool's status is not written (e.g. fields IronCore's type lacks).
		[ "$st" = works ] && st=PARTLY
		notes+="; pool status refused: $(grep -m1 '"msg":"Refreshing pool status"' "$WORK/logs/ironfed-${kind}poollet.log" | grep -oE '"error":"[^"]{0,160}')"
	fi
	result "0-ironfed-${kind}poollet" "$st" "$notes"
done
# A volumeRef added to a running Machine, as a broker's AttachVolume does: IronCore's apiserver leaves
# metadata.generation at 0, so watches filtering on generation changes do not see it.
k apply -f - >"$WORK/out/0-late-apply.txt" 2>&1 <<'YAML'
apiVersion: storage.ironcore.dev/v1alpha1
kind: Volume
metadata: {name: d-volume-1, namespace: default}
spec: {volumeClassRef: {name: fast}, volumePoolRef: {name: dpool}, resources: {storage: 1Gi}}
---
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: d-machine-1, namespace: default}
spec: {machineClassRef: {name: m-small}, machinePoolRef: {name: dpool}, power: "On"}
YAML
wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get machine -n default d-machine-1 -o jsonpath='{.status.state}' | grep -qx Running"
k patch machine -n default d-machine-1 --type=merge -p '{"spec":{"volumes":[{"name":"data","volumeRef":{"name":"d-volume-1"}}]}}' >>"$WORK/out/0-late-apply.txt" 2>&1
if wait_for 30 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get volume -n default d-volume-1 -o jsonpath='{.spec.claimRef.name}' | grep -q ."; then
	st=works
else
	st=BROKEN
fi
gen=$(k get machine -n default d-machine-1 -o jsonpath='{.metadata.generation}')
notes="Machine metadata.generation after the patch: ${gen:-unset (0)}; claimRef after 30s: '$(k get volume -n default d-volume-1 -o jsonpath='{.spec.claimRef.name}')'; Machine condition: $(k get machine -n default d-machine-1 -o jsonpath='{.status.conditions[?(@.type=="PrerequisitesMet")].message}')"
result "0-volumeref-added-later" "$st" "$notes"
k delete -n default machine/d-machine-1 volume/d-volume-1 --wait --timeout=60s >>"$WORK/out/0-late-apply.txt" 2>&1

k delete -f - --wait --timeout=60s >"$WORK/out/0-delete.txt" 2>&1 <<'YAML'
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: d-machine-0, namespace: default}
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: Volume
metadata: {name: d-volume-0, namespace: default}
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: Bucket
metadata: {name: d-bucket-0, namespace: default}
YAML
left=$(k get machines,volumes,buckets -n default -o name 2>/dev/null | wc -l)
result "0-ironfed-poollets-delete" "$([ "$left" = 0 ] && echo works || echo BROKEN)" "$left objects left 60s after kubectl delete"

log "1) ironfed brokers on D, IRI conformance suite"
for kind in machine volume bucket; do
	start "ironfed-${kind}broker" "$B/${kind}broker" --kubeconfig "$KCFG" --namespace brokered \
		--"$kind"-pool-name dpool --address "$WORK/ironfed-${kind}broker.sock" \
		--metrics-bind-address 0 --health-probe-bind-address 0
done
for kind in machine volume bucket; do wait_for 60 test -S "$WORK/ironfed-${kind}broker.sock"; done
"$B/iri-conformance" --machine-endpoint "unix://$WORK/ironfed-machinebroker.sock" \
	--volume-endpoint "unix://$WORK/ironfed-volumebroker.sock" --bucket-endpoint "unix://$WORK/ironfed-bucketbroker.sock" \
	--wait-timeout 30s >"$WORK/out/1-conformance.txt" 2>&1
rc=$?
for kind in machine volume bucket; do
	p=$(grep -c "^PASS $kind/" "$WORK/out/1-conformance.txt")
	f=$(grep "^FAIL $kind/" "$WORK/out/1-conformance.txt" | awk '{print $2}' | paste -sd, -)
	s=$(grep "^SKIP $kind/" "$WORK/out/1-conformance.txt" | awk '{print $2}' | paste -sd, -)
	result "1-ironfed-${kind}broker-conformance" "$([ -z "$f" ] && echo works || echo FAILS)" \
		"$p passed; failed: ${f:-none}; skipped: ${s:-none}"
done
log "conformance exit code $rc; $(tail -1 "$WORK/out/1-conformance.txt")"

# bucket_conformance NAME: the bucket cases again, after the pool's status was written by hand.
bucket_conformance() {
	"$B/iri-conformance" --bucket-endpoint "unix://$WORK/ironfed-bucketbroker.sock" --focus '^bucket/' \
		--wait-timeout 30s >"$WORK/out/$1.txt" 2>&1
	local p f
	p=$(grep -c "^PASS bucket/" "$WORK/out/$1.txt")
	f=$(grep "^FAIL bucket/" "$WORK/out/$1.txt" | awk '{print $2}' | paste -sd, -)
	result "$1" "$([ -z "$f" ] && echo works || echo FAILS)" "$2; $p passed; failed: ${f:-none}"
}
# ironfed's bucketpoollet cannot write the pool's status here (see 0). Write it by hand as IronCore's
# bucketpoollet does (classes only), then with the state Available as well.
k patch bucketpool dpool --subresource=status --type=merge \
	-p '{"status":{"availableBucketClasses":[{"name":"standard"}]}}' >"$WORK/out/1b-patch.txt" 2>&1
bucket_conformance 1b-ironfed-bucketbroker-ironcore-pool "pool status as IronCore's bucketpoollet writes it (availableBucketClasses only)"
k patch bucketpool dpool --subresource=status --type=merge \
	-p '{"status":{"state":"Available","availableBucketClasses":[{"name":"standard"}]}}' >"$WORK/out/1c-patch.txt" 2>&1
bucket_conformance 1c-ironfed-bucketbroker-available-pool "pool status written by hand: state Available, availableBucketClasses"
k get machines,volumes,buckets -n brokered -o name >"$WORK/out/1-left.txt" 2>&1

log "2) ironfed machinepoollet → IronCore machinebroker → D"
start ic-machinebroker "$IC/machinebroker" --kubeconfig "$KCFG" --namespace icbroker \
	--machine-pool-name dpool --address "$WORK/ic-machinebroker.sock" --streaming-address 127.0.0.1:0
wait_for 30 test -S "$WORK/ic-machinebroker.sock"
start ironfed-machinepoollet-icb "$B/machinepoollet" --kubeconfig "$KCFG" --machine-pool-name icb \
	--provider-id ironcore-machinebroker://d --machine-runtime-endpoint "unix://$WORK/ic-machinebroker.sock" \
	--metrics-bind-address 0 --health-probe-bind-address 0
NOTES=()
wait_for 60 k wait --for=condition=Ready machinepool/icb --timeout=1s && note "pool icb Ready" || note "pool icb not Ready in 60s"
k get machinepool icb -o yaml >"$WORK/out/2-machinepool.yaml" 2>&1
grep -q "class/machine.m-small" "$WORK/out/2-machinepool.yaml" && note "class m-small announced" || note "class m-small not announced"
k apply -f - >"$WORK/out/2-apply.txt" 2>&1 <<'YAML'
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: via-ic-broker, namespace: default}
spec: {machineClassRef: {name: m-small}, machinePoolRef: {name: icb}, power: "On"}
YAML
st=BROKEN
if wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get machines -n icbroker -o name | grep -q ."; then
	note "downstream Machine created in icbroker"
	if wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get machine -n default via-ic-broker -o jsonpath='{.status.state}' | grep -q Running"; then
		note "Running on icb"; st=works
	else
		note "not Running on icb in 60s"
	fi
else
	note "no downstream Machine in 60s"
fi
k get machine -n default via-ic-broker -o yaml >"$WORK/out/2-machine.yaml" 2>&1
k get machines -n icbroker -o yaml >"$WORK/out/2-downstream.yaml" 2>&1
k delete machine -n default via-ic-broker --wait --timeout=60s >"$WORK/out/2-delete.txt" 2>&1 && note "deleted" || note "delete did not finish in 60s"
wait_for 30 sh -c "[ -z \"\$('$KUBECTL' --kubeconfig '$KCFG' get machines -n icbroker -o name)\" ]" && note "downstream Machine gone" || { note "downstream Machine still there"; st=BROKEN; }
result "2-ironfed-poollet-ironcore-machinebroker" "$st" "$(IFS=';'; echo "${NOTES[*]}")"

# start_ic_machinebroker NAME: (re)starts IronCore's machinebroker on its socket.
start_ic_machinebroker() {
	rm -f "$WORK/ic-machinebroker.sock"
	start "$1" "$IC/machinebroker" --kubeconfig "$KCFG" --namespace icbroker \
		--machine-pool-name dpool --address "$WORK/ic-machinebroker.sock" --streaming-address 127.0.0.1:0
	wait_for 30 test -S "$WORK/ic-machinebroker.sock"
}
# 2a) A Machine with an emptyDisk: ironfed's machinepoollet sends an IRI local_disk without image.
NOTES=()
k apply -f - >"$WORK/out/2a-apply.txt" 2>&1 <<'YAML'
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: via-ic-broker-disk, namespace: default}
spec:
  machineClassRef: {name: m-small}
  machinePoolRef: {name: icb}
  power: "On"
  volumes: [{name: scratch, emptyDisk: {sizeLimit: 1Gi}}]
YAML
st=BROKEN
if wait_for 60 sh -c "'$KUBECTL' --kubeconfig '$KCFG' get machine -n default via-ic-broker-disk -o jsonpath='{.status.volumes[0].state}' | grep -qx Attached"; then
	st=works; note "emptyDisk volume Attached on icb"
else
	note "emptyDisk volume not Attached on icb in 60s (Machine state '$(k get machine -n default via-ic-broker-disk -o jsonpath='{.status.state}')')"
fi
k get machine -n default via-ic-broker-disk -o yaml >"$WORK/out/2a-machine.yaml" 2>&1
if ! kill -0 "${PID_OF[ic-machinebroker]}" 2>/dev/null; then
	note "IronCore's machinebroker exited: $(grep -m1 -A4 '^panic:' "$WORK/logs/ic-machinebroker.log" | grep -E '^panic|machinebroker/server' | head -2 | tr '\n\t' '  ' | cut -c1-220)"
	start_ic_machinebroker ic-machinebroker-2a
fi
# The machine is deleted through a broker that runs (ironfed's poollet deletes it in the runtime first).
k delete machine -n default via-ic-broker-disk --wait --timeout=60s >>"$WORK/out/2a-apply.txt" 2>&1 && note "deleted" || note "delete did not finish in 60s"
result "2a-ironfed-poollet-ironcore-machinebroker-emptydisk" "$st" "$(IFS=';'; echo "${NOTES[*]}")"
kill -0 "${PID_OF[ic-machinebroker-2a]:-${PID_OF[ic-machinebroker]}}" 2>/dev/null || start_ic_machinebroker ic-machinebroker-2b

# Reference: the same machine cases against IronCore's own machinebroker on its own apiserver. Last,
# because IronCore's broker panics on a CreateMachine without a machine (and then serves nothing).
"$B/iri-conformance" --machine-endpoint "unix://$WORK/ic-machinebroker.sock" --focus '^machine/' \
	--wait-timeout 30s --case-timeout 1m >"$WORK/out/2b-conformance.txt" 2>&1
p=$(grep -c "^PASS machine/" "$WORK/out/2b-conformance.txt")
f=$(grep "^FAIL machine/" "$WORK/out/2b-conformance.txt" | awk '{print $2}' | paste -sd, -)
pan=$(grep -m1 -A2 '^panic:' "$WORK/logs/ic-machinebroker.log" | tr '\n\t' '  ' | cut -c1-200)
result "2b-ironcore-machinebroker-conformance" reference "$p passed; failed: ${f:-none}; ${pan:+the IronCore broker exited: $pan}"

print_results
if [ -n "${PAUSE:-}" ]; then
	log "PAUSE: everything still runs; KUBECONFIG=$KCFG; rm $WORK/pause to stop"
	touch "$WORK/pause"
	while [ -e "$WORK/pause" ]; do sleep 2; done
fi
