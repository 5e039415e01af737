package objstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

func TestToStatus(t *testing.T) {
	for _, k := range []struct {
		err  error
		want codes.Code
	}{
		{runtimeerr.Invalidf("x"), codes.InvalidArgument},
		{runtimeerr.NotFoundf("x"), codes.NotFound},
		{runtimeerr.Errorf(runtimeerr.KindExhausted, "x"), codes.ResourceExhausted},
		{runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "x"), codes.FailedPrecondition},
		{runtimeerr.Errorf(runtimeerr.KindUnavailable, "x"), codes.Unavailable},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{errors.New("ceph said no"), codes.Internal},
	} {
		if got := status.Code(runtimeerr.ToStatus(k.err)); got != k.want {
			t.Errorf("runtimeerr.ToStatus(%v) = %v, want %v", k.err, got, k.want)
		}
	}
	if !errors.Is(runtimeerr.Errorf(runtimeerr.KindNotFound, "volume x"), runtimeerr.ErrNotFound) || errors.Is(runtimeerr.Invalidf("x"), runtimeerr.ErrNotFound) {
		t.Error("errors.Is does not match by kind")
	}
}

// TestEventTimesAreSeconds: event_time is Unix seconds; windows in seconds
// and (from older callers) nanoseconds both work.
func TestEventTimesAreSeconds(t *testing.T) {
	l := NewEventLog(3)
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return at }
	md := &metav1alpha1.ObjectMetadata{Id: "a", Labels: map[string]string{"k": "v"}}
	l.Record(md, Normal("Created", "Create", "created"))
	evs := l.List(EventFilter{})
	if len(evs) != 1 || evs[0].Spec.EventTime != at.Unix() {
		t.Fatalf("events %v, want one at %d", evs, at.Unix())
	}
	for _, k := range []struct {
		name     string
		from, to int64
		want     int
	}{
		{"seconds window around", at.Unix() - 1, at.Unix() + 1, 1},
		{"seconds window after", at.Unix() + 3600, 0, 0},
		{"nanosecond window around", at.UnixNano() - 1e9, at.UnixNano() + 1e9, 1},
		{"nanosecond window before", 0, at.UnixNano() - int64(time.Hour), 0},
	} {
		if got := len(l.List(EventFilter{FromTime: k.from, ToTime: k.to})); got != k.want {
			t.Errorf("%s: %d events, want %d", k.name, got, k.want)
		}
	}
	for range 5 {
		l.Record(md, Normal("Again", "Create", "again"))
	}
	if got := l.List(EventFilter{ID: "a", Labels: map[string]string{"k": "v"}}); len(got) != 3 || got[0].Spec.Reason != "Again" {
		t.Errorf("ring buffer of 3 holds %d events", len(got))
	}
}

func TestIndexAndWatch(t *testing.T) {
	type V = *volumev1alpha1.Volume
	ix := NewIndex[V]("uid", NewEventLog(10), 2)
	mk := func(id, uid string, created int64) V {
		return &volumev1alpha1.Volume{Metadata: &metav1alpha1.ObjectMetadata{Id: id, CreatedAt: created, Labels: map[string]string{"uid": uid, "run": "r"}}}
	}
	a, b := NewID(), NewID()
	w, initial, err := ix.Watch(Filter{Labels: map[string]string{"run": "r"}}, true)
	if err != nil || len(initial) != 0 {
		t.Fatal(err, initial)
	}
	ix.Put(mk(b, "ub", 2))
	ix.Put(mk(a, "ua", 1))
	if got, _ := ix.List(Filter{}); len(got) != 2 || got[0].GetMetadata().GetId() != a {
		t.Errorf("list is not ordered by creation: %v", got)
	}
	if o, ok := ix.ByUID("ub"); !ok || o.GetMetadata().GetId() != b {
		t.Errorf("ByUID(ub) = %v, %v", o, ok)
	}
	if _, err := ix.List(Filter{ID: "bad"}); status.Code(runtimeerr.ToStatus(err)) != codes.InvalidArgument {
		t.Errorf("malformed id in a filter: %v", err)
	}
	ctx := t.Context()
	for _, want := range []WatchType{WatchAdded, WatchAdded} {
		if ev, err := w.Next(ctx); err != nil || ev.Type != want {
			t.Fatalf("watch: %v, %v; want %v", ev.Type, err, want)
		}
	}
	ix.Put(mk(a, "ua", 1))
	ix.Remove(b)
	ix.Put(mk(NewID(), "", 3)) // a third pending event overflows the queue of 2
	if _, err := w.Next(ctx); !errors.Is(err, runtimeerr.ErrExhausted) {
		t.Errorf("a watcher that fell behind: %v, want ResourceExhausted", err)
	}
	if _, ok := ix.ByUID("ub"); ok {
		t.Error("removed object still found by UID")
	}
}

func TestLoadClasses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadClasses(write("ok.yaml", "volumeClasses:\n- {name: gold, tps: 1000, iops: 10}\nbucketClasses:\n- {name: s3, maxSizeBytes: 100}\n"))
	if err != nil || c.VolumeClasses[0].IOPS != 10 || c.BucketClasses[0].MaxSizeBytes != 100 {
		t.Errorf("LoadClasses = %+v, %v", c, err)
	}
	for name, body := range map[string]string{
		"unknown.yaml":  "volumeClasses:\n- {name: gold, tps: 1, cpu: 2}\n",
		"nocaps.yaml":   "volumeClasses:\n- {name: gold}\n",
		"dup.yaml":      "volumeClasses:\n- {name: a, iops: 1}\n- {name: a, iops: 2}\n",
		"fraction.yaml": "volumeClasses:\n- {name: a, iops: 1.5}\n",
	} {
		if _, err := LoadClasses(write(name, body)); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	if c, err := LoadClasses(""); err != nil || len(c.VolumeClasses) == 0 || c.Validate() != nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

func TestCounts(t *testing.T) {
	c := Counts{"volume": func() int { return 3 }, "volume-snapshot": func() int { return 1 }}
	want := `# HELP ironfed_ceph_provider_objects Objects held by a Ceph provider runtime, by kind.
# TYPE ironfed_ceph_provider_objects gauge
ironfed_ceph_provider_objects{kind="volume"} 3
ironfed_ceph_provider_objects{kind="volume-snapshot"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
