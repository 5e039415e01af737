package machinebroker

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/test/brokertest/fakestore"
)

// The fast tier: the machine broker over a fake client, no cluster.

const ns = fakestore.Namespace

func fakeBroker(t *testing.T, mutate func(*common.Options), objs ...client.Object) (*Broker, client.WithWatch) {
	s, c := fakestore.Start(t, Spec(), "machine", mutate, objs...)
	return &Broker{store: s}, c
}

func class(name string) *computev1alpha1.MachineClass {
	return &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Capabilities: commonv1alpha1.ResourceList{
		commonv1alpha1.ResourceCPU: resource.MustParse("2"), commonv1alpha1.ResourceMemory: resource.MustParse("4Gi"),
	}}
}

func machinePool(name string, ready bool, labels map[string]string, counts map[string]int64) *computev1alpha1.MachinePool {
	p := &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []computev1alpha1.MachinePoolCondition{{Type: "Ready", Status: st}}
	p.Status.Capacity = commonv1alpha1.ResourceList{}
	for c, n := range counts {
		p.Status.Capacity[commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, c)] = *resource.NewQuantity(n, resource.DecimalSI)
	}
	return p
}

// Status sums the class counts of the Ready pools the broker may use.
func TestStatusCapacity(t *testing.T) {
	pools := []client.Object{
		class("small"), class("large"),
		machinePool("a", true, map[string]string{"tier": "x"}, map[string]int64{"small": 10, "large": 1}),
		machinePool("b", true, map[string]string{"tier": "y"}, map[string]int64{"small": 5}),
		machinePool("c", false, map[string]string{"tier": "x"}, map[string]int64{"small": 100}),
	}
	for name, tc := range map[string]struct {
		mutate   func(*common.Options)
		want     map[string]int64
		wantCode codes.Code
	}{
		"all ready pools": {nil, map[string]int64{"small": 15, "large": 1}, codes.OK},
		"pinned pool":     {func(o *common.Options) { o.PoolName = "b" }, map[string]int64{"small": 5}, codes.OK},
		"pool selector":   {func(o *common.Options) { o.PoolSelector = map[string]string{"tier": "x"} }, map[string]int64{"small": 10, "large": 1}, codes.OK},
		// Every pool it may use is down: an outage below, not a pool offering nothing.
		"pinned not ready": {func(o *common.Options) { o.PoolName = "c" }, nil, codes.Unavailable},
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := fakeBroker(t, tc.mutate, pools...)
			resp, err := b.Status(context.Background(), &machinev1alpha1.StatusRequest{})
			if tc.wantCode != codes.OK {
				if status.Code(err) != tc.wantCode || !strings.Contains(err.Error(), "c (Ready=False)") {
					t.Fatalf("error %v, want %v naming the pool", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, s := range resp.MachineClassStatus {
				got[s.MachineClass.Name] = s.Quantity
				if ironcoreMatchClass(class(s.MachineClass.Name).Capabilities, resp.MachineClassStatus) == nil {
					t.Errorf("class %s resources %v: IronCore's poollet would not match them", s.MachineClass.Name, s.MachineClass.Capabilities.Resources)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("status %v, want %v", got, tc.want)
			}
			for c, n := range tc.want {
				if got[c] != n {
					t.Errorf("class %s: %d, want %d", c, got[c], n)
				}
			}
		})
	}
}

// A created machine round-trips spec and secret bytes; its Secret not
// cached yet is the one rule: served without the bytes, ErrIncomplete.
func TestMachineConversion(t *testing.T) {
	b, c := fakeBroker(t, nil, class("small"))
	ctx := context.Background()
	spec := &machinev1alpha1.MachineSpec{
		Class: "small", Power: machinev1alpha1.Power_POWER_OFF, IgnitionData: []byte("secret ignition"),
		Volumes: []*machinev1alpha1.Volume{
			{Name: "root", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 1 << 30}},
			{Name: "data", Connection: &machinev1alpha1.VolumeConnection{Driver: "ceph", Handle: "h", SecretData: map[string][]byte{"key": []byte("k")}}},
		},
		NetworkInterfaces: []*machinev1alpha1.NetworkInterface{{Name: "eth0", NetworkId: "net", Ips: []string{"10.0.0.1"}}},
	}
	resp, err := b.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{}, Spec: spec}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Machine.Metadata.Id
	l, err := b.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
	if err != nil || len(l.Machines) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	got := l.Machines[0].Spec
	if string(got.IgnitionData) != "secret ignition" || got.Power != machinev1alpha1.Power_POWER_OFF || len(got.Volumes) != 2 ||
		string(got.Volumes[1].Connection.SecretData["key"]) != "k" || got.NetworkInterfaces[0].Ips[0] != "10.0.0.1" {
		t.Fatalf("round trip: %v", got)
	}
	var m computev1alpha1.Machine
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m.Annotations {
		if strings.Contains(v, "secret ignition") || strings.Contains(v, `"key"`) {
			t.Errorf("annotation %s carries secret bytes", k)
		}
	}
	// The Secret missing from the cache: the rest converts, ErrIncomplete.
	m.Annotations[SecretAnnotation] = "not-there"
	out, err := toIRI(b.store.Broker, &m)
	if !errors.Is(err, common.ErrIncomplete) || out == nil || out.Spec.IgnitionData != nil || out.Spec.Class != "small" {
		t.Fatalf("missing secret: %v, %v; want the spec without bytes and ErrIncomplete", out, err)
	}
}

// Regression (probe): a valid IRI name equal to the hash of an invalid one mapped both to one
// downstream object. Distinct names stay distinct downstream, and every result is a valid name.
func TestAttachNamesNeverCollide(t *testing.T) {
	invalid := "Data_Disk"
	hashed := attachName(invalid)
	names := []string{"data", invalid, hashed, "x0123456789abcdef0123456789abcdef", "UPPER", "a.b"}
	seen := map[string]string{}
	for _, n := range names {
		got := attachName(n)
		if prev, dup := seen[got]; dup {
			t.Fatalf("%q and %q both map to %q", prev, n, got)
		}
		seen[got] = n
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("%q maps to the invalid name %q: %v", n, got, errs)
		}
	}
	if attachName("data") != "data" {
		t.Errorf("a plain valid name must stay as it is")
	}
}

// ironcoreMatchClass is a fixture of IronCore's machinepoollet: it derives the IRI resources of a
// Kubernetes MachineClass with quantity.Value() and takes the runtime class whose resources are
// equal to them.
func ironcoreMatchClass(caps commonv1alpha1.ResourceList, classes []*machinev1alpha1.MachineClassStatus) *machinev1alpha1.MachineClass {
	want := map[string]int64{}
	for name, q := range caps {
		want[string(name)] = q.Value()
	}
	for _, s := range classes {
		if maps.Equal(s.GetMachineClass().GetCapabilities().GetResources(), want) {
			return s.GetMachineClass()
		}
	}
	return nil
}
