// Package labels holds the label and annotation keys that are contracts
// between IRI components: a poollet sets them, and runtimes (brokers,
// providers) rely on them, e.g. to find the object a retried create stands for.
//
// The keys are IronCore upstream's, byte for byte, so that an upstream
// poollet and our runtimes (and the other way round) understand each other.
// Keys of ironfed's own additions use the ironfed.dev domain.
package labels

// Kind is an IRI object kind that a poollet labels.
type Kind string

const (
	Machine        Kind = "machine"
	Volume         Kind = "volume"
	VolumeSnapshot Kind = "volume-snapshot"
	Bucket         Kind = "bucket"
)

// Kinds lists every Kind, in a stable order.
var Kinds = []Kind{Machine, Volume, VolumeSnapshot, Bucket}

// Machine poollet: identity of the Kubernetes Machine an IRI machine stands for.
const (
	MachineUIDLabel       = "machinepoollet.ironcore.dev/machine-uid"
	MachineNamespaceLabel = "machinepoollet.ironcore.dev/machine-namespace"
	MachineNameLabel      = "machinepoollet.ironcore.dev/machine-name"

	// MachineGenerationAnnotation is the Kubernetes generation the IRI machine
	// was last updated to; IRIMachineGenerationAnnotation is the IRI generation
	// that update produced. The poollet copies status back only when the IRI
	// observed_generation has caught up with the latter.
	MachineGenerationAnnotation    = "machinepoollet.ironcore.dev/machine-generation"
	IRIMachineGenerationAnnotation = "machinepoollet.ironcore.dev/irimachine-generation"

	// MachineDownwardAPIPrefix prefixes labels that carry the root machine's
	// identity down a chain of brokers (e.g. root-machine-uid).
	MachineDownwardAPIPrefix = "downward-api.machinepoollet.ironcore.dev/"
)

// Volume poollet: identity of the Kubernetes Volume / VolumeSnapshot.
const (
	VolumeUIDLabel       = "volumepoollet.ironcore.dev/volume-uid"
	VolumeNamespaceLabel = "volumepoollet.ironcore.dev/volume-namespace"
	VolumeNameLabel      = "volumepoollet.ironcore.dev/volume-name"

	VolumeSnapshotUIDLabel       = "volumepoollet.ironcore.dev/volume-snapshot-uid"
	VolumeSnapshotNamespaceLabel = "volumepoollet.ironcore.dev/volume-snapshot-namespace"
	VolumeSnapshotNameLabel      = "volumepoollet.ironcore.dev/volume-snapshot-name"

	VolumeDownwardAPIPrefix = "downward-api.volumepoollet.ironcore.dev/"
	// VolumeSnapshotDownwardAPIPrefix is upstream's: the volume prefix plus
	// "volume-snapshot-".
	VolumeSnapshotDownwardAPIPrefix = "downward-api.volumepoollet.ironcore.dev/volume-snapshot-"
)

// Bucket poollet: identity of the Kubernetes Bucket.
const (
	BucketUIDLabel       = "bucketpoollet.ironcore.dev/bucket-uid"
	BucketNamespaceLabel = "bucketpoollet.ironcore.dev/bucket-namespace"
	BucketNameLabel      = "bucketpoollet.ironcore.dev/bucket-name"

	BucketDownwardAPIPrefix = "downward-api.bucketpoollet.ironcore.dev/"
)

type kindKeys struct{ uid, namespace, name, downward string }

var keys = map[Kind]kindKeys{
	Machine:        {MachineUIDLabel, MachineNamespaceLabel, MachineNameLabel, MachineDownwardAPIPrefix},
	Volume:         {VolumeUIDLabel, VolumeNamespaceLabel, VolumeNameLabel, VolumeDownwardAPIPrefix},
	VolumeSnapshot: {VolumeSnapshotUIDLabel, VolumeSnapshotNamespaceLabel, VolumeSnapshotNameLabel, VolumeSnapshotDownwardAPIPrefix},
	Bucket:         {BucketUIDLabel, BucketNamespaceLabel, BucketNameLabel, BucketDownwardAPIPrefix},
}

// UIDLabel returns the key under which the poollet stores the Kubernetes UID
// of the object an IRI object of this kind stands for; "" for an unknown kind.
// Runtimes index by it to make creates idempotent.
func UIDLabel(kind Kind) string { return keys[kind].uid }

// NamespaceLabel returns the key of the Kubernetes namespace; "" for an unknown kind.
func NamespaceLabel(kind Kind) string { return keys[kind].namespace }

// NameLabel returns the key of the Kubernetes name; "" for an unknown kind.
func NameLabel(kind Kind) string { return keys[kind].name }

// DownwardAPIPrefix returns the prefix of the kind's downward-API labels;
// "" for an unknown kind.
func DownwardAPIPrefix(kind Kind) string { return keys[kind].downward }

// DownwardAPILabel returns the downward-API label key for name, e.g.
// DownwardAPILabel(Machine, "root-machine-uid") =
// "downward-api.machinepoollet.ironcore.dev/root-machine-uid".
func DownwardAPILabel(kind Kind, name string) string {
	p := keys[kind].downward
	if p == "" {
		return ""
	}
	return p + name
}
