package controllermanager_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/test/framework"
)

// BenchmarkSchedule10kMachinesOver1kPools measures, on one local cluster in one run:
//   - raw-creates/s: how fast the apiserver accepts the 10,000 Machines (reference 1);
//   - raw-binds/s: how fast a plain loop binds another 10,000 Machines with exactly the patch a
//     bind is (spec.machinePoolRef with a resourceVersion precondition), round-robin over the pools,
//     from as many writers as the scheduler has bind workers (reference 2: the apiserver's bound);
//   - watched-raw-binds/s: the same loop over a third 10,000 while one informer watches Machines
//     in this process, as the scheduler's does (reference 3: what a watched bind costs the
//     apiserver, which encodes every bind once more for the watch);
//   - machines/s: how fast the scheduler then binds the first 10,000 across the 1,000 pools, from
//     manager start (informer sync of all 30,000 included) to the last acknowledged bind.
//
// Run: go test -run '^$' -bench Schedule10k -benchtime=1x ./federation/controllermanager/
// Knobs: BENCH_BIND_WORKERS=N (default 16), BENCH_BIND_EVENTS=false (no Scheduled Event per bind).
func BenchmarkSchedule10kMachinesOver1kPools(b *testing.B) {
	// 30 per pool: room for the scheduled 10,000 and the 20,000 bound by the reference loops.
	const pools, machines, perPool, writers = 1000, 10000, 30, 32
	c := framework.StartClusters(b, framework.ClustersInput{Names: []string{"bench"}, WithoutControllerManager: true})[0]
	cl, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	framework.Parallel(b, pools, writers, func(i int) error {
		p := &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pool-%04d", i)}}
		if err := cl.Create(ctx, p); err != nil {
			return err
		}
		p.Status = computev1alpha1.MachinePoolStatus{
			Conditions:              []computev1alpha1.MachinePoolCondition{{Type: commonv1alpha1.ConditionTypeReady, Status: corev1.ConditionTrue}},
			AvailableMachineClasses: []corev1.LocalObjectReference{{Name: "small"}},
			Capacity: commonv1alpha1.ResourceList{
				commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, "small"): *resource.NewQuantity(perPool, resource.DecimalSI)},
		}
		return cl.Status().Update(ctx, p)
	})

	start := time.Now()
	rvs := make([]string, 2*machines)
	framework.Parallel(b, 3*machines, writers, func(i int) error {
		m := newMachine(fmt.Sprintf("m-%05d", i), "small", nil)
		if err := cl.Create(ctx, m); err != nil {
			return err
		}
		if i >= machines {
			rvs[i-machines] = m.ResourceVersion
		}
		return nil
	})
	createRate := float64(3*machines) / time.Since(start).Seconds()

	opts := controllermanager.DefaultOptions()
	if v := os.Getenv("BENCH_BIND_WORKERS"); v != "" {
		opts.SchedulerBindWorkers, _ = strconv.Atoi(v)
	}
	opts.SchedulerBindEvents = os.Getenv("BENCH_BIND_EVENTS") != "false"
	rawBinds := func(first int) float64 {
		start := time.Now()
		framework.Parallel(b, machines, opts.SchedulerBindWorkers, func(i int) error {
			m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("m-%05d", first+i)}}
			patch := fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q},"spec":{"machinePoolRef":{"name":"pool-%04d"}}}`, rvs[first-machines+i], i%pools)
			return cl.Patch(ctx, m, client.RawPatch(types.MergePatchType, patch))
		})
		return float64(machines) / time.Since(start).Seconds()
	}
	bindRate := rawBinds(machines)
	watchedBindRate := watchedBinds(b, c.Config, func() float64 { return rawBinds(2 * machines) })

	before := counter(b, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "scheduled"})
	opts.LeaderElect, opts.MetricsBindAddress, opts.HealthProbeBindAddress = false, "0", "0"
	opts.SkipControllerNameValidation = true
	mgr, err := controllermanager.New(c.Config, opts)
	if err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writesBefore := framework.APIWrites(b, c.Config)
	b.ResetTimer()
	start = time.Now()
	go func() { _ = mgr.Start(mctx) }()
	// The first acknowledged bind ends the start-up (informer sync of 21,000 objects, leader-free
	// start of every controller); from there on the scheduler binds as the loop above did.
	var firstBind time.Time
	for {
		n := counter(b, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "scheduled"}) - before
		if n > 0 && firstBind.IsZero() {
			firstBind = time.Now()
		}
		if n >= machines {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatal("not all machines scheduled within 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	binding := time.Since(firstBind)
	writes, total := framework.WritesDelta(writesBefore, framework.APIWrites(b, c.Config))
	b.StopTimer()
	b.ReportMetric(float64(machines)/elapsed.Seconds(), "machines/s")
	b.ReportMetric(createRate, "raw-creates/s")
	b.ReportMetric(bindRate, "raw-binds/s")
	b.ReportMetric(watchedBindRate, "watched-raw-binds/s")
	b.ReportMetric(float64(machines)/binding.Seconds(), "binds/s")
	b.Logf("scheduled %d machines over %d pools in %s from manager start: %.0f/s; from the first bind on %s: %.0f/s = %.0f%% of the raw binds (%d bind workers, bind events %v); same run, same kind of objects: raw creates %.0f/s, raw binds by a plain loop %.0f/s",
		machines, pools, elapsed.Round(time.Millisecond), float64(machines)/elapsed.Seconds(),
		binding.Round(time.Millisecond), float64(machines)/binding.Seconds(), 100*float64(machines)/binding.Seconds()/bindRate,
		opts.SchedulerBindWorkers, opts.SchedulerBindEvents, createRate, bindRate)
	b.Logf("the same raw loop while one informer watches Machines: %.0f/s; the scheduler's binds are %.0f%% of that", watchedBindRate, 100*float64(machines)/binding.Seconds()/watchedBindRate)
	b.Logf("apiserver writes per scheduled machine: %.2f (%s); the raw loop: 1 (the bind patch)", total/machines, framework.FormatWrites(writes, machines))
}

// watchedBinds runs loop while an informer of this process watches Machines (decoding every
// event into its cache, as the controller-manager's does) and returns loop's rate.
func watchedBinds(b *testing.B, cfg *rest.Config, loop func() float64) float64 {
	b.Helper()
	c, err := cache.New(cfg, cache.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.GetInformer(ctx, &computev1alpha1.Machine{}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("informer did not sync")
	}
	return loop()
}
