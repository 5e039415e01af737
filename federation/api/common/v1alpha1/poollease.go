// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import "strings"

// Pool heartbeats are coordination.k8s.io Leases, one per pool, renewed by the pool's poollet
// (as kubelets renew node Leases in kube-node-lease). The controller-manager marks a pool whose
// Lease stopped being renewed Ready=Unknown. Names are IronCore's, so that ironfed and IronCore
// poollets and controller-managers monitor each other: the Lease of pool <pool> is named <pool>
// in the namespace of its kind (ironcore-machinepool-lease, ironcore-volumepool-lease,
// ironcore-bucketpool-lease).
const (
	// ReasonHeartbeatExpired is the reason of a pool's Ready=Unknown condition set because its
	// poollet stopped renewing the heartbeat Lease.
	ReasonHeartbeatExpired = "HeartbeatExpired"
	// ReasonHeartbeatResumed is the reason of Ready=True after the heartbeat came back.
	ReasonHeartbeatResumed = "HeartbeatResumed"
)

// PoolKinds are the pool kinds that renew heartbeat Leases.
var PoolKinds = []string{"MachinePool", "VolumePool", "BucketPool"}

// PoolLeaseNamespace is the namespace of the heartbeat Leases of the pools of poolKind
// ("MachinePool", "VolumePool", "BucketPool"), as IronCore names it, e.g.
// ironcore-machinepool-lease. Each Lease is named after its pool.
func PoolLeaseNamespace(poolKind string) string {
	return "ironcore-" + strings.ToLower(poolKind) + "-lease"
}
