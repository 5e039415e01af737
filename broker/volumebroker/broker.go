// Package volumebroker is the IRI volume runtime whose volumes live in a
// downstream cluster (docs/brokers.md).
package volumebroker

import (
	"context"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// Name is the broker's name: the managed-by label value and runtime name.
const Name = "volumebroker"

// Version is reported by the Version RPC.
const Version = "0.1.0"

// Broker serves the IRI VolumeRuntime from a downstream cluster.
type Broker struct {
	volumev1alpha1.UnimplementedVolumeRuntimeServer
	*common.Broker
	store *common.Store[*storagev1alpha1.Volume, *volumev1alpha1.Volume]
	opts  common.Options
}

var _ volumev1alpha1.VolumeRuntimeServer = (*Broker)(nil)

func cachedObjects() []client.Object {
	return []client.Object{&storagev1alpha1.Volume{}, &storagev1alpha1.VolumeClass{}, &storagev1alpha1.VolumePool{}, &corev1.Event{}}
}

// New builds the broker over d.
func New(d *common.Downstream, opts common.Options, log logr.Logger) (*Broker, error) {
	b := &Broker{Broker: &common.Broker{Name: Name, Kind: labels.Volume, Namespace: opts.Namespace, D: d, Log: log}, opts: opts}
	store, err := common.NewStore(b.Broker, common.Adapter[*storagev1alpha1.Volume, *volumev1alpha1.Volume]{
		New:     func() *storagev1alpha1.Volume { return &storagev1alpha1.Volume{} },
		NewList: func() client.ObjectList { return &storagev1alpha1.VolumeList{} },
		Items: func(l client.ObjectList) []*storagev1alpha1.Volume {
			return common.Pointers(l.(*storagev1alpha1.VolumeList).Items)
		},
		ToIRI: b.toIRI,
		Subs:  b.subsOf,
		SecretRefs: func(o *storagev1alpha1.Volume) []string {
			if a := o.Status.Access; a != nil && a.SecretRef != nil {
				return []string{a.SecretRef.Name}
			}
			return nil
		},
		APIVersion: storagev1alpha1.SchemeGroupVersion.String(),
		Kind:       "Volume",
	}, opts)
	if err != nil {
		return nil, err
	}
	b.store = store
	return b, nil
}

// Setup registers the store's indexes and watch handler.
func (b *Broker) Setup(ctx context.Context) error { return b.store.Setup(ctx) }

// Register adds the VolumeRuntime service.
func (b *Broker) Register(s *grpc.Server) { volumev1alpha1.RegisterVolumeRuntimeServer(s, b) }

// Run serves the volume broker until ctx ends. onReady (may be nil) is
// called once it serves.
func Run(ctx context.Context, cfg *rest.Config, opts common.Options, log logr.Logger, onReady func()) error {
	return common.ServeKind(ctx, cfg, opts, log, Name, cachedObjects(), true, func(d *common.Downstream) (common.Service, error) {
		return New(d, opts, log)
	}, onReady)
}

// Sweepers returns the store, whose incomplete leftovers common.Run sweeps.
func (b *Broker) Sweepers() []common.Sweeper { return []common.Sweeper{b.store} }
