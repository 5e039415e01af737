package memory

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// Benchmarks run only with -bench. They measure over a real unix socket
// with 64 MiB message limits on both sides, as our components run.
//
//	go test -run xxx -bench . ./providers/memory/

var benchSizes = []int{10_000, 100_000}

// benchMachine looks like what a poollet creates, minus volumes and network
// interfaces: identity and downward-API labels and generation annotations
// (~500 bytes on the wire with status). With a root volume and a NIC a
// machine is ~760 bytes, and a full list of 100k of those (76 MB) exceeds
// the 64 MiB message limit: at that scale clients must watch, not list.
func benchMachine(i int) *machinev1alpha1.Machine {
	uid := fmt.Sprintf("2f1c6a2e-0000-4000-8000-%012d", i)
	name := fmt.Sprintf("machine-%d", i)
	return &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{
			Labels: map[string]string{
				labels.MachineUIDLabel:                                      uid,
				labels.MachineNamespaceLabel:                                "default",
				labels.MachineNameLabel:                                     name,
				labels.DownwardAPILabel(labels.Machine, "root-machine-uid"): uid,
			},
			Annotations: map[string]string{
				labels.MachineGenerationAnnotation:    "1",
				labels.IRIMachineGenerationAnnotation: "1",
			},
		},
		Spec: &machinev1alpha1.MachineSpec{Class: "m-small"},
	}
}

func populatedProvider(b *testing.B, n int) *Provider {
	b.Helper()
	p := newProvider(b, func(c *Config) { c.MachineClasses[0].Capacity = 1 << 30 })
	for i := 0; i < n; i++ {
		if _, err := p.Machines.create(benchMachine(i)); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// benchServe serves p and makes one call, so that connection setup and the
// garbage of populating the store stay out of the measurement.
func benchServe(b *testing.B, p *Provider) clients {
	c := serve(b, p, b.TempDir())
	if _, err := c.machine.Version(bg(), &machinev1alpha1.VersionRequest{}); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return c
}

func BenchmarkCreateMachine(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			p := populatedProvider(b, n)
			c := benchServe(b, p)
			reqs := make([]*machinev1alpha1.CreateMachineRequest, b.N)
			for i := range reqs {
				reqs[i] = &machinev1alpha1.CreateMachineRequest{Machine: benchMachine(n + i)}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.machine.CreateMachine(bg(), reqs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkListMachines(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			p := populatedProvider(b, n)
			c := benchServe(b, p)
			var size int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := c.machine.ListMachines(bg(), &machinev1alpha1.ListMachinesRequest{})
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Machines) != n {
					b.Fatalf("listed %d machines, want %d", len(resp.Machines), n)
				}
				if i == 0 {
					size = proto.Size(resp)
				}
			}
			b.ReportMetric(float64(size)/(1<<20), "resp-MiB")
		})
	}
}

// BenchmarkListMachinesCodec is the reference for BenchmarkListMachines:
// only marshalling and unmarshalling the same response, in process. The
// difference is what the store and gRPC add.
func BenchmarkListMachinesCodec(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			p := populatedProvider(b, n)
			objs, _ := p.Machines.list(Filter{})
			resp := &machinev1alpha1.ListMachinesResponse{Machines: objs}
			runtime.GC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				data, err := proto.Marshal(resp)
				if err != nil {
					b.Fatal(err)
				}
				var out machinev1alpha1.ListMachinesResponse
				if err := proto.Unmarshal(data, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVersion is the reference for the unary benchmarks: one empty
// round trip over the same socket.
func BenchmarkVersion(b *testing.B) {
	c := benchServe(b, newProvider(b, nil))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.machine.Version(bg(), &machinev1alpha1.VersionRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListMachinesByUID is the poollet's lookup: one machine by its UID
// label, answered from the index whatever the store's size.
func BenchmarkListMachinesByUID(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			p := populatedProvider(b, n)
			c := benchServe(b, p)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				uid := benchMachine(i % n).Metadata.Labels[labels.MachineUIDLabel]
				resp, err := c.machine.ListMachines(bg(), &machinev1alpha1.ListMachinesRequest{
					Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{labels.MachineUIDLabel: uid}},
				})
				if err != nil || len(resp.Machines) != 1 {
					b.Fatalf("list by UID: %d machines, %v", len(resp.GetMachines()), err)
				}
			}
		})
	}
}

// BenchmarkRSS reports the process's resident memory with 100k machines,
// and how much of it the machines account for.
func BenchmarkRSS(b *testing.B) {
	const n = 100_000
	for i := 0; i < b.N; i++ {
		debug.FreeOSMemory()
		before := vmRSS(b)
		p := populatedProvider(b, n)
		runtime.GC()
		after := vmRSS(b)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(after)/(1<<20), "rss-MiB")
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(after-before)/(1<<20), "rss-delta-MiB")
		runtime.KeepAlive(p)
	}
}

// vmRSS reads VmRSS from /proc/self/status, in bytes.
func vmRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("VmRSS not found in /proc/self/status")
	return 0
}
