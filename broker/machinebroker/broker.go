// Package machinebroker is the IRI machine runtime whose machines live in a
// downstream cluster (docs/brokers.md).
package machinebroker

import (
	"context"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// Name is the broker's name: the managed-by label value and runtime name.
const Name = "machinebroker"

// Version is reported by the Version RPC.
const Version = "0.1.0"

// Broker serves the IRI MachineRuntime from a downstream cluster.
type Broker struct {
	machinev1alpha1.UnimplementedMachineRuntimeServer
	*common.Broker
	store *common.Store[*computev1alpha1.Machine, *machinev1alpha1.Machine]
	opts  common.Options
}

var _ machinev1alpha1.MachineRuntimeServer = (*Broker)(nil)

// cachedObjects are the downstream kinds the machine broker reads.
func cachedObjects() []client.Object {
	return []client.Object{
		&computev1alpha1.Machine{}, &computev1alpha1.MachineClass{}, &computev1alpha1.MachinePool{},
		&storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}, &corev1.Event{},
	}
}

// New builds the broker over d.
func New(d *common.Downstream, opts common.Options, log logr.Logger) (*Broker, error) {
	b := &Broker{Broker: &common.Broker{Name: Name, Kind: labels.Machine, Namespace: opts.Namespace, D: d, Log: log}, opts: opts}
	store, err := common.NewStore(b.Broker, common.Adapter[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
		New:     func() *computev1alpha1.Machine { return &computev1alpha1.Machine{} },
		NewList: func() client.ObjectList { return &computev1alpha1.MachineList{} },
		Items: func(l client.ObjectList) []*computev1alpha1.Machine {
			return common.Pointers(l.(*computev1alpha1.MachineList).Items)
		},
		ToIRI:      b.toIRI,
		Subs:       b.subsOf,
		APIVersion: computev1alpha1.SchemeGroupVersion.String(),
		Kind:       "Machine",
	}, opts)
	if err != nil {
		return nil, err
	}
	b.store = store
	return b, nil
}

// Setup registers the store's indexes and watch handler.
func (b *Broker) Setup(ctx context.Context) error { return b.store.Setup(ctx) }

// Register adds the MachineRuntime service.
func (b *Broker) Register(s *grpc.Server) { machinev1alpha1.RegisterMachineRuntimeServer(s, b) }

// Run serves the machine broker until ctx ends. onReady (may be nil) is
// called once it serves.
func Run(ctx context.Context, cfg *rest.Config, opts common.Options, log logr.Logger, onReady func()) error {
	return common.ServeKind(ctx, cfg, opts, log, Name, cachedObjects(), false, func(d *common.Downstream) (common.Service, error) {
		return New(d, opts, log)
	}, onReady)
}

// Sweepers returns the store, whose incomplete leftovers common.Run sweeps.
func (b *Broker) Sweepers() []common.Sweeper { return []common.Sweeper{b.store} }
