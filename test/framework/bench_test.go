package framework_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/localcluster"
)

// BenchmarkClusterStart starts three clusters in parallel (etcd + kube-apiserver +
// kube-controller-manager + ironfed's CRDs each), as the multi-cluster tests do, and reports the
// wall time until all serve their CRDs and the resident memory per cluster once idle.
//
// Run: go test -run '^$' -bench ClusterStart -benchtime=3x ./test/framework/
func BenchmarkClusterStart(b *testing.B) {
	defs, err := crds.CRDs()
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var rss, etcdRSS, apiRSS, kcmRSS int64
	runs := 0
	for b.Loop() {
		dir := b.TempDir()
		opts := make([]localcluster.Options, 3)
		for i := range opts {
			opts[i] = localcluster.Options{Name: fmt.Sprintf("c%d", i), Dir: filepath.Join(dir, fmt.Sprint(i)), CRDs: defs}
		}
		start := time.Now()
		clusters, err := localcluster.StartMany(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		time.Sleep(2 * time.Second) // let start-up allocations settle
		for _, c := range clusters {
			rss += c.RSS()
			etcdRSS += must(c.Etcd.RSS())
			apiRSS += must(c.APIServer.RSS())
			kcmRSS += must(c.ControllerManager.RSS())
			_ = c.Stop()
		}
		runs++
		b.StartTimer()
	}
	const mib = 1 << 20
	n := float64(3 * runs)
	b.ReportMetric(total.Seconds()/float64(runs), "s/3-clusters")
	b.ReportMetric(float64(rss)/n/mib, "MiB/cluster")
	b.ReportMetric(float64(etcdRSS)/n/mib, "MiB-etcd")
	b.ReportMetric(float64(apiRSS)/n/mib, "MiB-apiserver")
	b.ReportMetric(float64(kcmRSS)/n/mib, "MiB-kcm")
}

func must(n int64, err error) int64 {
	if err != nil {
		return 0
	}
	return n
}
