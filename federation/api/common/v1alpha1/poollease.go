// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import "strings"

// Pool heartbeats are coordination.k8s.io Leases, one per pool, renewed by the pool's poollet
// (as kubelets renew node Leases in kube-node-lease). The controller-manager marks a pool whose
// Lease stopped being renewed Ready=Unknown. This is an ironfed contract between poollets and
// the controller-manager.
const (
	// DefaultPoolLeaseNamespace holds the heartbeat Leases of all pools.
	DefaultPoolLeaseNamespace = "ironfed-pool-lease"

	// ReasonHeartbeatExpired is the reason of a pool's Ready=Unknown condition set because its
	// poollet stopped renewing the heartbeat Lease.
	ReasonHeartbeatExpired = "HeartbeatExpired"
	// ReasonHeartbeatResumed is the reason of Ready=True after the heartbeat came back.
	ReasonHeartbeatResumed = "HeartbeatResumed"
)

// PoolLeaseName is the name of the heartbeat Lease of the pool of poolKind ("MachinePool",
// "VolumePool", "BucketPool") named poolName: the kinds share the Lease namespace.
func PoolLeaseName(poolKind, poolName string) string {
	return strings.ToLower(poolKind) + "-" + poolName
}
