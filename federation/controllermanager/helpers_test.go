package controllermanager_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/test/framework"
)

// env is one real cluster with the controller-manager running against it.
type env struct {
	cfg    *rest.Config
	client client.Client
}

func startEnv(t *testing.T, mutate func(*controllermanager.Options)) *env {
	t.Helper()
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"cm"}, WithoutControllerManager: true})[0]
	startManager(t, c.Config, mutate)
	cl, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{cfg: c.Config, client: cl}
}

// startManager runs a controller-manager against cfg until the test ends or stop is called.
func startManager(t *testing.T, cfg *rest.Config, mutate func(*controllermanager.Options)) (mgr manager.Manager, stop func()) {
	t.Helper()
	opts := controllermanager.DefaultOptions()
	opts.MetricsBindAddress, opts.HealthProbeBindAddress = "0", "0"
	opts.SkipControllerNameValidation = true // one manager per test, several tests per process
	// One manager per cluster: it takes the Lease at once, and a loaded host (a 3 s renew deadline
	// under load 22 lost it, and the test with it) must not cost it (replicas_test sets its own).
	opts.LeaderElectLeaseDuration, opts.LeaderElectRenewDeadline, opts.LeaderElectRetryPeriod = 30*time.Second, 20*time.Second, 500*time.Millisecond
	if mutate != nil {
		mutate(&opts)
	}
	mgr, err := controllermanager.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return mgr, stop
}

// poolSpec describes a MachinePool for a test.
type poolSpec struct {
	name     string
	labels   map[string]string
	ready    corev1.ConditionStatus
	taints   []commonv1alpha1.Taint
	capacity map[string]int64 // class -> instances
}

func (e *env) createMachinePool(t *testing.T, p poolSpec) {
	t.Helper()
	ctx := t.Context()
	pool := &computev1alpha1.MachinePool{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: p.labels},
		Spec:       computev1alpha1.MachinePoolSpec{ProviderID: "test://" + p.name, Taints: p.taints},
	}
	if err := e.client.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	e.setMachinePoolStatus(t, p.name, p.ready, p.capacity, nil)
}

// setMachinePoolStatus writes what a poollet would: Ready, classes and capacity. allocatable, if
// given, is written too (it must not influence scheduling, which counts bindings itself).
func (e *env) setMachinePoolStatus(t *testing.T, name string, ready corev1.ConditionStatus, capacity map[string]int64, allocatable map[string]int64) {
	t.Helper()
	ctx := t.Context()
	pool := &computev1alpha1.MachinePool{}
	if err := e.client.Get(ctx, client.ObjectKey{Name: name}, pool); err != nil {
		t.Fatal(err)
	}
	orig := pool.DeepCopy()
	pool.Status.Conditions, _ = conditions.Set(pool.Status.Conditions, conditions.MachinePool,
		conditions.Condition{Type: commonv1alpha1.ConditionTypeReady, Status: ready, Reason: "Test", Message: "set by test"})
	if capacity != nil {
		pool.Status.AvailableMachineClasses = nil
		pool.Status.Capacity = commonv1alpha1.ResourceList{}
		for class, n := range capacity {
			pool.Status.AvailableMachineClasses = append(pool.Status.AvailableMachineClasses, corev1.LocalObjectReference{Name: class})
			pool.Status.Capacity[commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, class)] = *resource.NewQuantity(n, resource.DecimalSI)
		}
	}
	if allocatable != nil {
		pool.Status.Allocatable = commonv1alpha1.ResourceList{}
		for class, n := range allocatable {
			pool.Status.Allocatable[commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, class)] = *resource.NewQuantity(n, resource.DecimalSI)
		}
	}
	if err := e.client.Status().Patch(ctx, pool, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
}

// createVolumePool creates a Ready VolumePool offering class with capacity bytes of it.
func (e *env) createVolumePool(t *testing.T, name, class, capacity string) {
	t.Helper()
	vp := &storagev1alpha1.VolumePool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.client.Create(t.Context(), vp); err != nil {
		t.Fatal(err)
	}
	vp.Status = storagev1alpha1.VolumePoolStatus{
		Conditions:             []storagev1alpha1.VolumePoolCondition{{Type: commonv1alpha1.ConditionTypeReady, Status: corev1.ConditionTrue}},
		AvailableVolumeClasses: []corev1.LocalObjectReference{{Name: class}},
		Capacity:               commonv1alpha1.ResourceList{commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeVolumeClass, class): resource.MustParse(capacity)},
	}
	if err := e.client.Status().Update(t.Context(), vp); err != nil {
		t.Fatal(err)
	}
}

func newMachine(name, class string, selector map[string]string, tolerations ...commonv1alpha1.Toleration) *computev1alpha1.Machine {
	return &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: computev1alpha1.MachineSpec{
			MachineClassRef:     commonv1alpha1.LocalObjectReference{Name: class},
			MachinePoolSelector: selector,
			Tolerations:         tolerations,
		},
	}
}

// waitMachine polls until cond holds for the machine, failing the test with the last state.
func (e *env) waitMachine(t *testing.T, name string, what string, cond func(*computev1alpha1.Machine) bool) *computev1alpha1.Machine {
	t.Helper()
	m := &computev1alpha1.Machine{}
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, m); err != nil {
			return false, nil
		}
		return cond(m), nil
	})
	if err != nil {
		t.Fatalf("machine %s: %s: timed out; spec.machinePoolRef=%v status=%+v", name, what, m.Spec.MachinePoolRef, m.Status)
	}
	return m
}

// volumeState is a Volume's pool ("bound to <pool>"), or its Scheduled=False reason and message.
func (e *env) volumeState(ctx context.Context, name string) string {
	v := &storagev1alpha1.Volume{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, v); err != nil {
		return err.Error()
	}
	if v.Spec.VolumePoolRef != nil {
		return "bound to " + v.Spec.VolumePoolRef.Name
	}
	if c, ok := conditions.Get(v.Status.Conditions, conditions.Volume, commonv1alpha1.ConditionTypeScheduled); ok {
		return fmt.Sprintf("%s: %s", c.Reason, c.Message)
	}
	return "undecided"
}

// waitVolumeState polls until ok holds for the Volume's state (volumeState), failing the test
// with the last one; want describes ok.
func (e *env) waitVolumeState(t *testing.T, name string, ok func(string) bool, want string) {
	t.Helper()
	var got string
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got = e.volumeState(ctx, name)
		return ok(got), nil
	}); err != nil {
		t.Fatalf("Volume %s: %q, want %s", name, got, want)
	}
}

func boundTo(pool string) func(*computev1alpha1.Machine) bool {
	return func(m *computev1alpha1.Machine) bool {
		return m.Spec.MachinePoolRef != nil && m.Spec.MachinePoolRef.Name == pool
	}
}

func unschedulable(m *computev1alpha1.Machine) bool {
	c, ok := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled)
	return ok && c.Status == corev1.ConditionFalse && c.Reason == commonv1alpha1.ReasonUnschedulable
}

func scheduledMessage(m *computev1alpha1.Machine) string {
	c, _ := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled)
	return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
}

func init() {
	// Errors only: the managers' info logs would drown test output; failures still show.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
}
