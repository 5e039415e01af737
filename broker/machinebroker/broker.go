// Package machinebroker is the IRI machine runtime whose machines live in a
// downstream cluster (docs/brokers.md).
package machinebroker

import (
	"context"

	"google.golang.org/grpc"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// Name is the broker's name: the managed-by label value and runtime name.
const Name = "machinebroker"

type store = common.Store[*computev1alpha1.Machine, *machinev1alpha1.Machine]

// Broker serves the IRI MachineRuntime from a downstream cluster.
type Broker struct {
	machinev1alpha1.UnimplementedMachineRuntimeServer
	*store
	console *consoleProxy // nil without --exec-bind-address
}

var _ machinev1alpha1.MachineRuntimeServer = (*Broker)(nil)

// Spec is the machine broker's kind spec. It caches only its own Secrets.
func Spec() common.Spec[*computev1alpha1.Machine, *machinev1alpha1.Machine] {
	var console *consoleProxy // built by Servers, before Register runs
	return common.Spec[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
		Name: Name, Kind: labels.Machine,
		Adapter: common.Adapter[*computev1alpha1.Machine, *machinev1alpha1.Machine]{List: &computev1alpha1.MachineList{}, ToIRI: toIRI, Subs: subsOf, SecretRefs: secretRefs},
		Classes: common.ClassSource{Type: commonv1alpha1.ClassTypeMachineClass, PoolList: &computev1alpha1.MachinePoolList{}, ClassList: &computev1alpha1.MachineClassList{}},
		Cached:  []client.Object{&storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}},
		Register: func(g *grpc.Server, s *store) {
			machinev1alpha1.RegisterMachineRuntimeServer(g, &Broker{store: s, console: console})
		},
		Servers: func(s *store) ([]func(context.Context) error, error) {
			c, err := newConsoleProxy(s)
			if err != nil || c == nil {
				return nil, err
			}
			console = c
			return []func(context.Context) error{c.run}, nil
		},
	}
}

// Run serves the machine broker until ctx ends.
var Run = common.RunOf(Spec)
