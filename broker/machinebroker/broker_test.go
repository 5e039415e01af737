package machinebroker_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

func TestMachineBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := startEnv(t, func(o *common.Options) { o.PoolName = testPool })
	ctx := ctxT(t)

	t.Run("gRPC health reports serving once the cache synced", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(e.conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health: %v %v", resp, err)
		}
	})

	t.Run("status sums the pool capacity and reports class capabilities", func(t *testing.T) {
		resp, err := e.m.Status(ctx, &machinev1alpha1.StatusRequest{})
		must(t, err)
		if len(resp.MachineClassStatus) != 1 {
			t.Fatalf("Status: %v", resp)
		}
		s := resp.MachineClassStatus[0]
		if s.MachineClass.Name != testClass || s.Quantity != 100 || s.MachineClass.Capabilities.Resources["cpu"] != 2 || s.MachineClass.Capabilities.Resources["memory"] != 4<<30 {
			t.Errorf("Status: %v", s)
		}
	})

	iriLabels := map[string]string{
		labels.MachineUIDLabel: "uid-1",
		labels.DownwardAPILabel(labels.Machine, "root-machine-uid"): "root-1",
		"example.com/with spaces":                                   "any value / at all",
	}
	in := newMachine(iriLabels)
	in.Metadata.Annotations = map[string]string{"example.com/note": "{\"json\": true}"}
	in.Spec.IgnitionData = []byte("ignition: secret")
	in.Spec.Volumes = []*machinev1alpha1.Volume{
		{Name: "root", Device: "oda", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 1 << 30, Image: &machinev1alpha1.ImageSpec{Image: "os:1"}}},
		{Name: "data", Device: "odb", Connection: &machinev1alpha1.VolumeConnection{
			Driver: "ceph", Handle: "pool/img", Attributes: map[string]string{"monitors": "m1"},
			SecretData: map[string][]byte{"key": []byte("s3cr3t")}, EffectiveStorageBytes: 1 << 30,
		}},
	}
	in.Spec.NetworkInterfaces = []*machinev1alpha1.NetworkInterface{{Name: "eth0", NetworkId: "net-a", Ips: []string{"10.0.0.1"}, Attributes: map[string]string{"k": "v"}}}
	created, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: in})
	must(t, err)
	id := created.Machine.Metadata.Id
	if !common.ValidID(id) {
		t.Fatalf("minted id %q", id)
	}

	t.Run("downstream objects, labels, annotations and owner references", func(t *testing.T) {
		var m computev1alpha1.Machine
		must(t, e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id}, &m))
		if m.Labels[common.ManagedByLabel] != machinebroker.Name || m.Labels[common.CreatedLabel] != "true" ||
			m.Labels[labels.DownwardAPILabel(labels.Machine, "root-machine-uid")] != "root-1" {
			t.Errorf("downstream labels: %v", m.Labels)
		}
		if m.Spec.MachinePoolRef == nil || m.Spec.MachinePoolRef.Name != testPool || m.Spec.MachineClassRef.Name != testClass {
			t.Errorf("downstream spec: %+v", m.Spec)
		}
		if m.Spec.IgnitionRef == nil || len(m.Spec.Volumes) != 2 || len(m.Spec.NetworkInterfaces) != 1 {
			t.Errorf("downstream spec lists: %+v", m.Spec)
		}
		for _, o := range []client.Object{&corev1.Secret{}, &storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}} {
			name := id
			switch o.(type) {
			case *storagev1alpha1.Volume:
				name = id + "-data"
			case *networkingv1alpha1.NetworkInterface:
				name = id + "-eth0"
			}
			must(t, e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: name}, o))
			refs := o.GetOwnerReferences()
			if len(refs) != 1 || refs[0].UID != m.UID || refs[0].Kind != "Machine" || refs[0].Controller != nil {
				t.Errorf("%T %s owner references (not a controller reference: the machinepoollet prunes those): %v", o, name, refs)
			}
			if v, ok := o.(*storagev1alpha1.Volume); ok {
				size := v.Status.Resources[commonv1alpha1.ResourceStorage]
				if v.Status.State != storagev1alpha1.VolumeStateAvailable || v.Status.Access == nil || v.Status.Access.Driver != "ceph" ||
					v.Status.Access.Handle != "pool/img" || v.Status.Access.VolumeAttributes["monitors"] != "m1" || size.Value() != 1<<30 {
					t.Errorf("static volume status: %+v", v.Status)
				}
				// The connection's secret_data reaches the next level's poollet through the
				// access Secret, as any Volume's does (e.g. a Ceph leaf's cephx user and key).
				var vs corev1.Secret
				if v.Status.Access == nil || v.Status.Access.SecretRef == nil {
					t.Errorf("static volume access without a secretRef: %+v", v.Status.Access)
				} else if err := e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: v.Status.Access.SecretRef.Name}, &vs); err != nil ||
					string(vs.Data["key"]) != "s3cr3t" || len(vs.OwnerReferences) != 1 || vs.OwnerReferences[0].UID != m.UID {
					t.Errorf("static volume access Secret: %v, %+v", err, vs)
				}
			}
		}
		for k, v := range m.Annotations {
			if bytes.Contains([]byte(v), []byte("s3cr3t")) || bytes.Contains([]byte(v), []byte("ignition: secret")) {
				t.Errorf("annotation %s carries secret data", k)
			}
		}
	})

	t.Run("list by id, by labels and all round-trips metadata and spec", func(t *testing.T) {
		var got *machinev1alpha1.Machine
		eventually(t, "the machine in the list", func() (bool, string) {
			resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
			if err != nil || len(resp.Machines) != 1 {
				return false, "not listed yet"
			}
			got = resp.Machines[0]
			return len(got.Spec.IgnitionData) > 0, "secret not in the cache yet"
		})
		if !maps.Equal(got.Metadata.Labels, iriLabels) || !maps.Equal(got.Metadata.Annotations, in.Metadata.Annotations) {
			t.Errorf("metadata: %v", got.Metadata)
		}
		if string(got.Spec.IgnitionData) != "ignition: secret" || len(got.Spec.Volumes) != 2 ||
			string(got.Spec.Volumes[1].Connection.SecretData["key"]) != "s3cr3t" || got.Spec.Volumes[0].LocalDisk.Image.Image != "os:1" ||
			got.Spec.NetworkInterfaces[0].NetworkId != "net-a" || got.Spec.NetworkInterfaces[0].Ips[0] != "10.0.0.1" {
			t.Errorf("spec: %v", got.Spec)
		}
		if got.Metadata.CreatedAt == 0 || got.Metadata.DeletedAt != 0 || got.Status.State != machinev1alpha1.MachineState_MACHINE_PENDING {
			t.Errorf("metadata/status: %v %v", got.Metadata, got.Status)
		}
		resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{"example.com/with spaces": "any value / at all"}}})
		must(t, err)
		if len(resp.Machines) != 1 {
			t.Errorf("by label: %d machines", len(resp.Machines))
		}
		resp, err = e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{"example.com/with spaces": "other"}}})
		must(t, err)
		if len(resp.Machines) != 0 {
			t.Errorf("by mismatching label: %d machines", len(resp.Machines))
		}
		for _, bad := range []string{"0123456789abcdef0123456789abcdef", "not-an-id"} {
			resp, err = e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: bad}})
			if err != nil || len(resp.Machines) != 0 {
				t.Errorf("list unknown id %s: %v %v", bad, resp, err)
			}
		}
	})

	t.Run("power, annotations, attach and detach", func(t *testing.T) {
		g0 := created.Machine.Metadata.Generation
		_, err := e.m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF})
		must(t, err)
		var m computev1alpha1.Machine
		must(t, e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id}, &m))
		if g := common.IRIGeneration(&m); m.Spec.Power != computev1alpha1.PowerOff || g != g0+1 {
			t.Errorf("after power off: power %s IRI generation %d (was %d)", m.Spec.Power, g, g0)
		}
		want := map[string]string{"x": "1", "y": "2"}
		_, err = e.m.UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{MachineId: id, Annotations: want})
		must(t, err)
		eventually(t, "power and annotations in the list", func() (bool, string) {
			resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
			if err != nil || len(resp.Machines) != 1 {
				return false, "not listed"
			}
			got := resp.Machines[0]
			return got.Spec.Power == machinev1alpha1.Power_POWER_OFF && maps.Equal(got.Metadata.Annotations, want) && maps.Equal(got.Metadata.Labels, iriLabels), got.String()
		})

		nic := &machinev1alpha1.NetworkInterface{Name: "eth1", NetworkId: "net-b"}
		_, err = e.m.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: nic})
		must(t, err)
		eventually(t, "eth1 in the spec", func() (bool, string) {
			resp, _ := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
			return resp != nil && len(resp.Machines) == 1 && len(resp.Machines[0].Spec.NetworkInterfaces) == 2, "not yet"
		})
		_, err = e.m.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: nic})
		wantCode(t, "attach eth1 twice", err, codes.AlreadyExists)
		_, err = e.m.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: "eth1"})
		must(t, err)
		var n networkingv1alpha1.NetworkInterface
		if err := e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id + "-eth1"}, &n); !apierrors.IsNotFound(err) {
			t.Errorf("detached NIC still downstream: %v", err)
		}
		eventually(t, "eth1 gone from the spec", func() (bool, string) {
			resp, _ := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
			return resp != nil && len(resp.Machines) == 1 && len(resp.Machines[0].Spec.NetworkInterfaces) == 1, "not yet"
		})
		_, err = e.m.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: "eth1"})
		wantCode(t, "detach eth1 twice", err, codes.NotFound)

		grown := &machinev1alpha1.Volume{Name: "data", Device: "odb", Connection: &machinev1alpha1.VolumeConnection{Driver: "ceph", Handle: "pool/img", EffectiveStorageBytes: 2 << 30}}
		_, err = e.m.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: grown})
		must(t, err)
		_, err = e.m.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: grown})
		wantCode(t, "attach data twice", err, codes.AlreadyExists)
		_, err = e.m.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: "data"})
		must(t, err)
		_, err = e.m.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: "nope"})
		wantCode(t, "detach unknown volume", err, codes.NotFound)
	})

	t.Run("precise errors", func(t *testing.T) {
		bad := newMachine(nil)
		bad.Spec.Class = "huge"
		_, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: bad})
		wantCode(t, "unknown class", err, codes.InvalidArgument)
		_, err = e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{})
		wantCode(t, "no machine", err, codes.InvalidArgument)
		_, err = e.m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: "0123456789abcdef0123456789abcdef"})
		wantCode(t, "power of unknown id", err, codes.NotFound)
		_, err = e.m.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: "0123456789abcdef0123456789abcdef"})
		must(t, err)
	})

	t.Run("a failed sub-object rolls the create back", func(t *testing.T) {
		m := newMachine(map[string]string{labels.MachineUIDLabel: "uid-rollback"})
		m.Spec.IgnitionData = bytes.Repeat([]byte("i"), machinebroker.MaxIgnitionBytes)
		m.Spec.Volumes = []*machinev1alpha1.Volume{{Name: "big", Connection: &machinev1alpha1.VolumeConnection{
			Driver: "ceph", Handle: "h", SecretData: map[string][]byte{"k": bytes.Repeat([]byte("s"), 64<<10)},
		}}}
		_, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: m})
		wantCode(t, "create whose Secret exceeds 1 MiB", err, codes.InvalidArgument)
		var list computev1alpha1.MachineList
		must(t, e.kube.List(ctx, &list, client.InNamespace(testNamespace), client.MatchingLabels{common.UIDLabel: "uid-rollback"}))
		for _, m := range list.Items {
			if m.DeletionTimestamp == nil {
				t.Errorf("machine %s left behind by a failed create", m.Name)
			}
		}
	})

	t.Run("events of the namespace", func(t *testing.T) {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: testNamespace, Name: id + ".test"},
			InvolvedObject: corev1.ObjectReference{Kind: "Machine", APIVersion: computev1alpha1.SchemeGroupVersion.String(), Namespace: testNamespace, Name: id},
			Reason:         "Scheduled", Message: "scheduled downstream", Type: corev1.EventTypeNormal,
			FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
		}
		must(t, e.kube.Create(ctx, ev))
		eventually(t, "the event", func() (bool, string) {
			resp, err := e.m.ListEvents(ctx, &machinev1alpha1.ListEventsRequest{Filter: &machinev1alpha1.EventFilter{Id: id}})
			if err != nil || len(resp.Events) != 1 {
				return false, "no event yet"
			}
			s := resp.Events[0].Spec
			return s.Reason == "Scheduled" && s.InvolvedObjectMeta.Id == id && maps.Equal(s.InvolvedObjectMeta.Labels, iriLabels), s.String()
		})
	})

	t.Run("downstream status flows up through the watch", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := e.m.WatchMachines(wctx, &machinev1alpha1.WatchMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}, SendInitialList: true})
		must(t, err)
		ev, err := stream.Recv()
		must(t, err)
		if ev.Type != machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED || ev.Object.Metadata.Id != id {
			t.Fatalf("first event: %v", ev)
		}
		if ev, err = stream.Recv(); err != nil || ev.Type != machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK || ev.Object != nil {
			t.Fatalf("second event: %v %v", ev, err)
		}
		var m computev1alpha1.Machine
		must(t, e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id}, &m))
		m.Status.State = computev1alpha1.MachineStateRunning
		m.Status.ObservedGeneration = m.Generation
		m.Status.Volumes = []computev1alpha1.VolumeStatus{{Name: "root", Handle: "h-root", State: computev1alpha1.VolumeStateAttached}}
		m.Status.NetworkInterfaces = []computev1alpha1.NetworkInterfaceStatus{{Name: "eth0", Handle: "h-eth0", State: computev1alpha1.NetworkInterfaceStateAttached}}
		must(t, e.kube.Status().Update(ctx, &m))
		for {
			ev, err := stream.Recv()
			must(t, err)
			if ev.Type != machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED {
				t.Fatalf("event %v, want MODIFIED", ev.Type)
			}
			st := ev.Object.Status
			if st.State != machinev1alpha1.MachineState_MACHINE_RUNNING {
				continue
			}
			if st.ObservedGeneration != ev.Object.Metadata.Generation || len(st.Volumes) != 1 || st.Volumes[0].Name != "root" || st.Volumes[0].State != machinev1alpha1.VolumeState_VOLUME_ATTACHED ||
				len(st.NetworkInterfaces) != 1 || st.NetworkInterfaces[0].Handle != "h-eth0" {
				t.Errorf("brokered status: %v", st)
			}
			break
		}
	})

	t.Run("delete cascades downstream", func(t *testing.T) {
		_, err := e.m.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id})
		must(t, err)
		_, err = e.m.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id})
		must(t, err)
		eventually(t, "the machine and its sub-objects gone", func() (bool, string) {
			for _, o := range []client.Object{&computev1alpha1.Machine{}, &corev1.Secret{}} {
				if err := e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id}, o); !apierrors.IsNotFound(err) {
					return false, fmt.Sprintf("%T still there (finalizers %v, deletion %v)", o, o.GetFinalizers(), o.GetDeletionTimestamp())
				}
			}
			var nics networkingv1alpha1.NetworkInterfaceList
			must(t, e.kube.List(ctx, &nics, client.InNamespace(testNamespace)))
			return len(nics.Items) == 0, "network interfaces left"
		})
	})
}

func TestIdempotentCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := startEnv(t, nil)
	ctx := ctxT(t)
	uid := "uid-concurrent"
	var wg sync.WaitGroup
	ids := make([]string, 20)
	errs := make([]error, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: uid})})
			errs[i] = err
			if err == nil {
				ids[i] = resp.Machine.Metadata.Id
			}
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("create %d: id %q err %v; want id %q", i, ids[i], errs[i], ids[0])
		}
	}
	var list computev1alpha1.MachineList
	must(t, e.kube.List(ctx, &list, client.InNamespace(testNamespace), client.MatchingLabels{common.UIDLabel: uid}))
	if len(list.Items) != 1 {
		t.Fatalf("%d downstream machines for one UID, want 1", len(list.Items))
	}
	// A retry after the informer caught up still returns the same object.
	time.Sleep(500 * time.Millisecond)
	resp, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: uid})})
	must(t, err)
	if resp.Machine.Metadata.Id != ids[0] {
		t.Errorf("later retry got id %s, want %s", resp.Machine.Metadata.Id, ids[0])
	}
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v; want code %s", what, err, code)
	}
}
