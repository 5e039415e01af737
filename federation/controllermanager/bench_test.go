package controllermanager_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
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
// Knobs: BENCH_BIND_WORKERS=N (default 16), BENCH_BIND_EVENTS=false (no Scheduled Event per bind),
// BENCH_SCHEDULER_CPUPROFILE=file (CPU profile of the scheduler's phase alone).
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
	// rawLatency sums the loops' patch latencies (ns), for the mean beside the scheduler's.
	var rawLatency [2]atomic.Int64
	rawBinds := func(first int) float64 {
		start := time.Now()
		framework.Parallel(b, machines, opts.SchedulerBindWorkers, func(i int) error {
			m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("m-%05d", first+i)}}
			patch := fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q},"spec":{"machinePoolRef":{"name":"pool-%04d"}}}`, rvs[first-machines+i], i%pools)
			t := time.Now()
			err := cl.Patch(ctx, m, client.RawPatch(types.MergePatchType, patch))
			rawLatency[first/machines-1].Add(int64(time.Since(t)))
			return err
		})
		return float64(machines) / time.Since(start).Seconds()
	}
	// CPU seconds of the apiserver, and of this process, spent in each phase.
	apiCPU := func() float64 { return framework.APICostOf(b, c.Config, "machines").CPUSeconds }
	rawAPICPU := apiCPU()
	bindRate := rawBinds(machines)
	rawAPICPU = apiCPU() - rawAPICPU
	var watchedCPU time.Duration
	var watchedAPICPU float64
	watchedBindRate := watchedBinds(b, c.Config, func() float64 {
		cpu, api := processCPU(b), apiCPU()
		defer func() { watchedCPU, watchedAPICPU = processCPU(b)-cpu, apiCPU()-api }()
		return rawBinds(2 * machines)
	})

	before := counter(b, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "scheduled"})
	bindErrorsBefore := counter(b, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "bind_error"})
	latencyBefore, bindsBefore := histogram(b, "ironfed_scheduler_bind_duration_seconds", map[string]string{"kind": "Machine"})
	opts.LeaderElect, opts.MetricsBindAddress, opts.HealthProbeBindAddress = false, "0", "0"
	opts.SkipControllerNameValidation = true
	mgr, err := controllermanager.New(c.Config, opts)
	if err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writesBefore := framework.APIWrites(b, c.Config)
	stopProfile := phaseProfile(b)
	b.ResetTimer()
	start = time.Now()
	go func() { _ = mgr.Start(mctx) }()
	// The first acknowledged bind ends the start-up (informer sync of 21,000 objects, leader-free
	// start of every controller); from there on the scheduler binds as the loop above did.
	// Gathering the metrics registry costs ~1 ms of CPU, taken from the apiserver's two cores:
	// polled every 20 ms throughout, it was 2.1 CPU-s of the bind phase. So it polls finely only
	// around the first and the last bind, and every 500 ms in between.
	var firstBind time.Time
	var bindCPU time.Duration
	var bindAPICPU float64
	for {
		n := counter(b, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "scheduled"}) - before
		if n > 0 && firstBind.IsZero() {
			firstBind = time.Now()
			bindCPU, bindAPICPU = processCPU(b), apiCPU()
		}
		if n >= machines {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatal("not all machines scheduled within 5 minutes")
		}
		// Fine polling from a second's worth of binds before the end at the rate so far.
		if firstBind.IsZero() || float64(machines)-n < 100+n/time.Since(firstBind).Seconds() {
			time.Sleep(20 * time.Millisecond)
		} else {
			time.Sleep(500 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	binding := time.Since(firstBind)
	// Writes first: the Events held back during the binds follow at once.
	writes, total := framework.WritesDelta(writesBefore, framework.APIWrites(b, c.Config))
	bindCPU, bindAPICPU = processCPU(b)-bindCPU, apiCPU()-bindAPICPU
	stopProfile()
	bindErrors := counter(b, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "bind_error"}) - bindErrorsBefore
	latencySum, bindCount := histogram(b, "ironfed_scheduler_bind_duration_seconds", map[string]string{"kind": "Machine"})
	latencySum, bindCount = latencySum-latencyBefore, bindCount-bindsBefore
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
	// Binds in flight on average = rate × mean latency: near the worker count, the binds wait for
	// the apiserver; well below it, for the scheduler.
	b.Logf("mean bind latency: scheduler %.1f ms (%.0f binds in flight on average of %d workers, %.0f bind errors), raw loop %.1f ms, watched raw loop %.1f ms",
		1000*latencySum/bindCount, latencySum/bindCount*float64(machines)/binding.Seconds(), opts.SchedulerBindWorkers, bindErrors,
		float64(rawLatency[0].Load())/1e6/machines, float64(rawLatency[1].Load())/1e6/machines)
	b.Logf("CPU-s per 1,000 binds: apiserver %.2f while the scheduler bound, %.2f in the raw loop, %.2f in the watched raw loop; this process %.2f while the scheduler bound (controller-manager and bench), %.2f in the watched raw loop (loop and informer)",
		bindAPICPU/machines*1000, rawAPICPU/machines*1000, watchedAPICPU/machines*1000, bindCPU.Seconds()/machines*1000, watchedCPU.Seconds()/machines*1000)
}

// histogram returns the sum and count of the histogram name with labels.
func histogram(b *testing.B, name string, labels map[string]string) (sum, count float64) {
	b.Helper()
	h := findMetric(b, name, labels).GetHistogram()
	return h.GetSampleSum(), float64(h.GetSampleCount())
}

// processCPU is the user+system CPU this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phaseProfile writes a CPU profile of the scheduler's phase alone to $BENCH_SCHEDULER_CPUPROFILE
// (go test's -cpuprofile covers the set-up and the reference loops as well). It returns the stop.
func phaseProfile(b *testing.B) func() {
	path := os.Getenv("BENCH_SCHEDULER_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
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
