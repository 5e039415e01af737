package realceph

import (
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/ironfed/ironfed/iri/conformance"
	"github.com/ironfed/ironfed/providers/ceph/bucket"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

// testBucketClass has a small quota so that the over-quota test is quick.
var testBucketClass = objstore.BucketClass{Name: "small", TPS: 1 << 20, IOPS: 100, MaxSizeBytes: 1 << 20, MaxObjects: 10}

func openBuckets(t *testing.T) (*bucket.Buckets, *bucket.RGW) {
	t.Helper()
	c := needCluster(t)
	rgw, err := bucket.NewRGW(c.RGWEndpoint, c.AdminAccessKey, c.AdminSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bucket.New(t.Context(), rgw, bucket.Options{
		Classes:  []objstore.BucketClass{testBucketClass},
		Endpoint: strings.TrimPrefix(c.RGWEndpoint, "http://"),
		Logger:   logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, rgw
}

func TestBucketConformance(t *testing.T) {
	b, _ := openBuckets(t)
	cfg := conformance.Config{
		BucketEndpoint: serve(t, "bucket", b.Register),
		Focus:          "^bucket/",
		WaitTimeout:    30 * time.Second,
		PollInterval:   50 * time.Millisecond,
	}
	rep := conformance.RunTests(t, cfg)
	if rep.Skipped > 0 {
		t.Errorf("%d bucket cases skipped; the RGW runtime must support all", rep.Skipped)
	}
	if rep.Passed == 0 {
		t.Error("no case passed")
	}
	t.Log(rep.Totals())
	// The hostile-input probe (issue 18): precise codes, nothing half-created, with real RGW buckets.
	if rep := conformance.RunSuiteTests(t, cfg, conformance.HostileSuite()); rep.Passed != 1 {
		t.Errorf("hostile inputs: %s", rep.Totals())
	}
}
