package join

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

const (
	computeGroup    = "compute.ironcore.dev"
	storageGroup    = "storage.ironcore.dev"
	networkingGroup = "networking.ironcore.dev"
)

// Verbs of an object the broker owns: the Store creates, merge-patches
// (never updates) and deletes; it reads through an informer cache, and
// through a direct get on a cache miss right after its own create or on a
// write conflict.
var owned = []string{"get", "list", "watch", "create", "patch", "delete"}

var readOnly = []string{"get", "list", "watch"}

// NamespaceRules are the rules of the broker's Role in its namespace: the
// least the machine, volume and bucket brokers need (broker/common,
// broker/*broker). Networks are absent on purpose: the brokers neither read
// nor create them (a NetworkInterface names its Network by reference only).
func NamespaceRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{computeGroup}, Resources: []string{"machines"}, Verbs: owned},
		// Consoles: the machine broker opens its machines' consoles at the
		// downstream machinepoollets, which check this by SubjectAccessReview.
		{APIGroups: []string{computeGroup}, Resources: []string{"machines/exec"}, Verbs: []string{"create"}},
		// Volumes: the volume broker's, and the machine broker's static
		// connection Volumes; buckets: the bucket broker's.
		{APIGroups: []string{storageGroup}, Resources: []string{"volumes", "buckets"}, Verbs: owned},
		// The volume broker's snapshots.
		{APIGroups: []string{storageGroup}, Resources: []string{"volumesnapshots"}, Verbs: owned},
		// The machine broker writes the status of a connection Volume (it is
		// never scheduled, so no volumepoollet does), for the downstream
		// machinepoollet to attach it.
		{APIGroups: []string{storageGroup}, Resources: []string{"volumes/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{networkingGroup}, Resources: []string{"networkinterfaces"}, Verbs: owned},
		// Ignition and volume-key Secrets it writes; the volume and bucket
		// brokers also read the access Secrets the downstream poollets write.
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: owned},
		// ListEvents reads core/v1 Events from the informer cache; leader election
		// (--leader-elect) records "became leader" as a core/v1 Event on its Lease.
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list", "watch", "create", "patch"}},
		// Events the broker records about its objects (events.k8s.io/v1;
		// an event series is patched).
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		// Leader election of broker replicas (--leader-elect): one Lease per namespace and kind.
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	}
}

// ClusterRules are the rules of the broker's ClusterRole: read-only access
// to the cluster-scoped pools (capacity, bucket classes on offer) and
// classes (validation, capabilities). Nothing else is granted cluster-wide.
func ClusterRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{computeGroup}, Resources: []string{"machinepools", "machineclasses"}, Verbs: readOnly},
		{APIGroups: []string{storageGroup}, Resources: []string{"volumepools", "volumeclasses", "bucketpools", "bucketclasses"}, Verbs: readOnly},
	}
}
