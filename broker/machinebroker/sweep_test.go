package machinebroker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/test/brokertest"
)

// sweepGrace costs no wall time: the test moves the injected clock.
const sweepGrace = 10 * time.Second

// leftover creates, as admin, what a create that crashed before the
// created label leaves behind: a Machine (managed-by broker) referencing a
// Secret, a Volume and a NetworkInterface owned by it.
func leftover(t *testing.T, ctx context.Context, kube client.Client, broker, uid string) (*computev1alpha1.Machine, []client.Object) {
	t.Helper()
	id := common.NewID()
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{
		Namespace: testNamespace, Name: id,
		Labels:      map[string]string{common.ManagedByLabel: broker},
		Annotations: map[string]string{machinebroker.SecretAnnotation: id, common.LabelsAnnotation: "{}", common.AnnotationsAnnotation: "{}"},
	}}
	if uid != "" {
		m.Labels[common.UIDLabel] = uid
	}
	m.Spec.MachineClassRef = commonv1alpha1.LocalObjectReference{Name: testClass}
	m.Spec.Power = computev1alpha1.PowerOn
	m.Spec.Volumes = []computev1alpha1.Volume{{Name: "v", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: id + "-v"}}}}
	m.Spec.NetworkInterfaces = []computev1alpha1.NetworkInterface{{Name: "n", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{NetworkInterfaceRef: &commonv1alpha1.LocalObjectReference{Name: id + "-n"}}}}
	must(t, kube.Create(ctx, m))
	own := func(name string) metav1.ObjectMeta {
		tr := true
		return metav1.ObjectMeta{Namespace: testNamespace, Name: name, Labels: map[string]string{common.ManagedByLabel: broker},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: computev1alpha1.SchemeGroupVersion.String(), Kind: "Machine", Name: id, UID: m.UID, BlockOwnerDeletion: &tr}}}
	}
	subs := []client.Object{
		&corev1.Secret{ObjectMeta: own(id), Data: map[string][]byte{"ignition.yaml": []byte("x")}},
		&storagev1alpha1.Volume{ObjectMeta: own(id + "-v")},
		&networkingv1alpha1.NetworkInterface{ObjectMeta: own(id + "-n"), Spec: networkingv1alpha1.NetworkInterfaceSpec{NetworkRef: commonv1alpha1.LocalObjectReference{Name: "default"}}},
	}
	for _, o := range subs {
		must(t, kube.Create(ctx, o))
	}
	return m, subs
}

func exists(ctx context.Context, kube client.Client, o client.Object) (bool, error) {
	cur := o.DeepCopyObject().(client.Object)
	err := kube.Get(ctx, client.ObjectKeyFromObject(o), cur)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil && cur.GetDeletionTimestamp() == nil, err
}

func sweptMetric(t *testing.T) float64 {
	mfs, err := ctrlmetrics.Registry.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "ironfed_broker_incomplete_swept_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["broker"] == machinebroker.Name && l["kind"] == "Machine" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestSweepIncomplete(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	clk := clocktesting.NewFakePassiveClock(time.Now())
	past := func() { clk.SetTime(time.Now().Add(sweepGrace + time.Second)) } // every object so far is past the grace period
	e := startEnv(t, func(o *common.Options) {
		o.Clock = clk
		o.IncompleteSweepInterval = 200 * time.Millisecond
		o.IncompleteGracePeriod = sweepGrace
		o.WriteTimeout = 5 * time.Second
	})
	ctx := ctxT(t)
	before := sweptMetric(t)

	complete, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "complete"})})
	must(t, err)
	old, oldSubs := leftover(t, ctx, e.kube, machinebroker.Name, "crashed")
	foreign, _ := leftover(t, ctx, e.kube, "otherbroker", "")
	past()

	eventually(t, "the old incomplete machine and its sub-objects to be swept", func() (bool, string) {
		for _, o := range append([]client.Object{old}, oldSubs...) {
			if ok, err := exists(ctx, e.kube, o); ok || err != nil {
				return false, fmt.Sprintf("%T %s still there (%v)", o, o.GetName(), err)
			}
		}
		return true, ""
	})
	eventually(t, "the swept metric and event", func() (bool, string) {
		if got := sweptMetric(t) - before; got < 1 {
			return false, fmt.Sprintf("ironfed_broker_incomplete_swept_total grew by %v, want >= 1", got)
		}
		var evs eventsv1.EventList
		if err := e.kube.List(ctx, &evs, client.InNamespace(testNamespace)); err != nil {
			return false, err.Error()
		}
		for _, ev := range evs.Items {
			if ev.Reason == "IncompleteSwept" && ev.Regarding.Name == old.Name {
				return true, ""
			}
		}
		return false, "no IncompleteSwept event about " + old.Name
	})

	// A young incomplete machine survives many sweeps until the grace period ends. The clock is
	// back at "now" before it is made: a sweep between its creation and the next SetTime would
	// otherwise see it through the "past" clock above.
	clk.SetTime(time.Now())
	young, youngSubs := leftover(t, ctx, e.kube, machinebroker.Name, "")
	clk.SetTime(young.CreationTimestamp.Add(sweepGrace - time.Second))
	brokertest.SweepRounds(t, machinebroker.Name, 3)
	for _, o := range append([]client.Object{young, foreign}, youngSubs...) {
		if ok, err := exists(ctx, e.kube, o); !ok {
			t.Fatalf("%T %s swept before the grace period (%v)", o, o.GetName(), err)
		}
	}
	past()
	eventually(t, "the young incomplete machine to be swept after the grace period", func() (bool, string) {
		ok, err := exists(ctx, e.kube, young)
		return !ok && err == nil, fmt.Sprint(err)
	})

	// Retries of a crashed create racing with the sweeper: the incomplete
	// object is replaced, and the new one is never lost.
	retry, _ := leftover(t, ctx, e.kube, machinebroker.Name, "retried")
	past() // the retries straddle the first sweep that may take it
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			r, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "retried"})})
			if err != nil {
				t.Errorf("retry %d: %v", i, err)
				return
			}
			ids[i] = r.Machine.Metadata.Id
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] || id == retry.Name {
			t.Fatalf("retry %d got id %q, retry 0 %q, leftover %q", i, id, ids[0], retry.Name)
		}
	}
	if ok, err := exists(ctx, e.kube, retry); ok || err != nil {
		t.Errorf("the replaced leftover is still there (%v)", err)
	}

	// Long past the grace period: complete machines and other brokers'
	// objects are never swept.
	clk.SetTime(time.Now().Add(time.Hour))
	brokertest.SweepRounds(t, machinebroker.Name, 3)
	for _, id := range []string{complete.Machine.Metadata.Id, ids[0]} {
		l, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
		if err != nil || len(l.Machines) != 1 {
			t.Errorf("complete machine %s: %v %v", id, l, err)
		}
	}
	if ok, err := exists(ctx, e.kube, foreign); !ok {
		t.Errorf("another broker's incomplete machine was swept (%v)", err)
	}
	var ms computev1alpha1.MachineList
	must(t, e.kube.List(ctx, &ms, client.InNamespace(testNamespace), client.MatchingLabels{common.UIDLabel: "retried"}))
	if len(ms.Items) != 1 || !common.IsCreated(&ms.Items[0]) {
		t.Errorf("machines with uid retried: %d, want one created", len(ms.Items))
	}
}

func TestSweepOptionsValidate(t *testing.T) {
	o := common.DefaultOptions("machine")
	o.IncompleteGracePeriod = o.WriteTimeout
	if err := o.Validate(); err == nil {
		t.Error("a grace period not above the write timeout is accepted")
	}
	o.IncompleteSweepInterval = 0
	if err := o.Validate(); err != nil {
		t.Errorf("disabled sweep: %v", err)
	}
}
