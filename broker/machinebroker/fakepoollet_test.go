package machinebroker_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
)

// runFakePoollet plays a downstream machinepoollet by polling: every
// brokered machine runs when powered on, shuts down when off, has its
// volumes and network interfaces attached and its generation observed,
// and gets one Normal event. It stands in for the real poollet, which the
// brokers' tests do not run yet.
func runFakePoollet(ctx context.Context, kube client.Client) {
	evented := map[string]bool{}
	for ctx.Err() == nil {
		var list computev1alpha1.MachineList
		if err := kube.List(ctx, &list, client.InNamespace(testNamespace)); err == nil {
			for i := range list.Items {
				m := &list.Items[i]
				want := m.Status
				want.State = computev1alpha1.MachineStateRunning
				if m.Spec.Power == computev1alpha1.PowerOff {
					want.State = computev1alpha1.MachineStateShutdown
				}
				want.ObservedGeneration = m.Generation
				want.Volumes, want.NetworkInterfaces = nil, nil
				for _, v := range m.Spec.Volumes {
					want.Volumes = append(want.Volumes, computev1alpha1.VolumeStatus{Name: v.Name, Handle: "fake/" + v.Name, State: computev1alpha1.VolumeStateAttached})
				}
				for _, n := range m.Spec.NetworkInterfaces {
					want.NetworkInterfaces = append(want.NetworkInterfaces, computev1alpha1.NetworkInterfaceStatus{Name: n.Name, Handle: "fake/" + n.Name, State: computev1alpha1.NetworkInterfaceStateAttached})
				}
				if !reflect.DeepEqual(want, m.Status) {
					m.Status = want
					_ = kube.Status().Update(ctx, m)
				}
				if !evented[m.Name] {
					evented[m.Name] = kube.Create(ctx, &corev1.Event{
						ObjectMeta:     metav1.ObjectMeta{Namespace: testNamespace, Name: m.Name + ".started"},
						InvolvedObject: corev1.ObjectReference{Kind: "Machine", APIVersion: computev1alpha1.SchemeGroupVersion.String(), Namespace: testNamespace, Name: m.Name, UID: m.UID},
						Reason:         "Started", Message: "machine started (fake poollet)", Type: corev1.EventTypeNormal,
						FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
					}) == nil
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestConformanceWithFakePoollet runs every machine case (but exec, which the
// broker does not forward) with a fake downstream poollet making machines run.
func TestConformanceWithFakePoollet(t *testing.T) {
	e := startEnv(t, func(o *common.Options) { o.PoolName = testPool })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runFakePoollet(ctx, e.kube) }()
	t.Cleanup(func() { cancel(); <-done })
	report := conformance.RunTests(t, conformance.Config{
		MachineEndpoint: "unix://" + e.socket,
		Focus:           `^machine/`,
		Skip:            `^machine/exec$`,
		WaitTimeout:     20 * time.Second,
	})
	if report.Skipped != 0 {
		t.Errorf("%d cases skipped; every selected case must run", report.Skipped)
	}
}
