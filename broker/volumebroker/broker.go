// Package volumebroker is the IRI volume runtime whose volumes live in a
// downstream cluster (docs/brokers.md).
package volumebroker

import (
	"google.golang.org/grpc"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// Name is the broker's name: the managed-by label value and runtime name.
const Name = "volumebroker"

type store = common.Store[*storagev1alpha1.Volume, *volumev1alpha1.Volume]

// Broker serves the IRI VolumeRuntime from a downstream cluster.
type Broker struct {
	volumev1alpha1.UnimplementedVolumeRuntimeServer
	*store
	// snaps are the brokered snapshots; nil serves none (Unimplemented).
	snaps *snapshotStore
}

var _ volumev1alpha1.VolumeRuntimeServer = (*Broker)(nil)

// Spec is the volume broker's kind spec. Volume access Secrets are written
// by the downstream volumepoollet, so every Secret of the namespace is cached.
// VolumeSnapshots are a companion store.
func Spec() common.Spec[*storagev1alpha1.Volume, *volumev1alpha1.Volume] {
	var snaps *snapshotStore
	return common.Spec[*storagev1alpha1.Volume, *volumev1alpha1.Volume]{
		Name: Name, Kind: labels.Volume, AllSecrets: true,
		Adapter: common.Adapter[*storagev1alpha1.Volume, *volumev1alpha1.Volume]{List: &storagev1alpha1.VolumeList{}, ToIRI: toIRI, Subs: subsOf, SecretRefs: secretRefs},
		Classes: common.ClassSource{Type: commonv1alpha1.ClassTypeVolumeClass, PoolList: &storagev1alpha1.VolumePoolList{}, ClassList: &storagev1alpha1.VolumeClassList{}},
		Cached:  []client.Object{&storagev1alpha1.VolumeSnapshot{}},
		Companions: func(s *store) ([]common.Companion, error) {
			var err error
			snaps, err = newSnapshotStore(s)
			return []common.Companion{snaps}, err
		},
		Register: func(g *grpc.Server, s *store) {
			volumev1alpha1.RegisterVolumeRuntimeServer(g, &Broker{store: s, snaps: snaps})
		},
	}
}

// Run serves the volume broker until ctx ends.
var Run = common.RunOf(Spec)
