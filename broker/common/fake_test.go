package common

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

const fakeNamespace = "brokered"

type machineStore = Store[*computev1alpha1.Machine, *machinev1alpha1.Machine]

// testSpec is a minimal machine kind: metadata-only conversion.
func testSpec() Spec[*computev1alpha1.Machine, *machinev1alpha1.Machine] {
	return Spec[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
		Name: "machinebroker", Kind: labels.Machine,
		Adapter: Adapter[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
			List: &computev1alpha1.MachineList{},
			ToIRI: func(_ *Broker, m *computev1alpha1.Machine) (*machinev1alpha1.Machine, error) {
				return &machinev1alpha1.Machine{Metadata: IRIMetadata(m), Spec: &machinev1alpha1.MachineSpec{Class: m.Spec.MachineClassRef.Name}}, nil
			},
		},
		Classes: ClassSource{Type: commonv1alpha1.ClassTypeMachineClass, PoolList: &computev1alpha1.MachinePoolList{}, ClassList: &computev1alpha1.MachineClassList{}},
		Cached:  []client.Object{&storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}},
	}
}

// fakeClient is controller-runtime's fake client with the downstream scheme.
func fakeClient(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(objs...).
		WithStatusSubresource(&computev1alpha1.Machine{}, &storagev1alpha1.Volume{}).Build()
}

// startFakeStore runs the test kind's store over c (no cluster).
func startFakeStore(tb testing.TB, c client.WithWatch, mutate func(*Options)) *machineStore {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	opts := DefaultOptions("machine")
	opts.Namespace = fakeNamespace
	if mutate != nil {
		mutate(&opts)
	}
	s, err := StartStore(ctx, testSpec(), opts, DownstreamOptions{Client: c, Log: logr.Discard()})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// brokeredMachine is a created machine as the broker leaves it.
func brokeredMachine(i int, uid string) *computev1alpha1.Machine {
	m := &computev1alpha1.Machine{}
	m.Name, m.Namespace = fmt.Sprintf("%032x", i+1), fakeNamespace
	m.UID = types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012x", i+1)) // the fake client sets none: the conversion cache's key
	m.Labels = map[string]string{ManagedByLabel: "machinebroker", CreatedLabel: "true"}
	m.Annotations = map[string]string{LabelsAnnotation: "{}", AnnotationsAnnotation: "{}"}
	if uid != "" {
		m.Labels[UIDLabel] = uid
		m.Annotations[LabelsAnnotation] = fmt.Sprintf(`{%q:%q,"tier":"bench"}`, labels.UIDLabel(labels.Machine), uid)
	}
	m.Spec.MachineClassRef.Name = "small"
	return m
}

func testLog(t *testing.T) logr.Logger { return testr.New(t) }
