package watchhub

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// Providers cast Type to each kind's wire enum.
func TestTypeMatchesWire(t *testing.T) {
	pairs := []struct{ ours, machine, volume, bucket int32 }{
		{int32(Added), int32(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED), int32(volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_ADDED), int32(bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_ADDED)},
		{int32(Modified), int32(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED), int32(volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_MODIFIED), int32(bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_MODIFIED)},
		{int32(Deleted), int32(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_DELETED), int32(volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_DELETED), int32(bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_DELETED)},
		{int32(Bookmark), int32(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK), int32(volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_BOOKMARK), int32(bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_BOOKMARK)},
	}
	for _, p := range pairs {
		if p.ours != p.machine || p.ours != p.volume || p.ours != p.bucket {
			t.Errorf("watch event type %d differs on the wire: machine %d, volume %d, bucket %d", p.ours, p.machine, p.volume, p.bucket)
		}
	}
}

// TestServe: the initial objects, a bookmark, then the matching changes, numbered from 1; a
// watcher that falls behind ends its stream ResourceExhausted at once (queued changes or not)
// without ever blocking Publish; Close ends the others Unavailable and refuses new watchers.
func TestServe(t *testing.T) {
	h := New[string](2)
	even := func(s string) bool { return len(s)%2 == 0 }
	w, err := h.Add(even)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		typ Type
		obj string
		seq uint64
	}
	got := make(chan sent, 16)
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		done <- Serve(ctx, w, []string{"aa"}, func(typ Type, obj string, seq uint64) error {
			got <- sent{typ, obj, seq}
			return nil
		})
	}()
	h.Publish(Modified, "odd") // not matched
	h.Publish(Modified, "bb")
	h.Publish(Deleted, "cc")
	want := []sent{{Added, "aa", 1}, {Bookmark, "", 2}, {Modified, "bb", 3}, {Deleted, "cc", 4}}
	for _, wv := range want {
		select {
		case g := <-got:
			if g != wv {
				t.Fatalf("sent %+v, want %+v", g, wv)
			}
		case <-ctx.Done():
			t.Fatalf("waiting for %+v: %v", wv, ctx.Err())
		}
	}

	slow, _ := h.Add(func(s string) bool { return s == "slows" }) // the stream above takes none
	for range 5 {
		h.Publish(Added, "slows") // never blocks on slow's full queue of 2
	}
	if _, err := slow.Next(ctx); !errors.Is(err, runtimeerr.ErrExhausted) {
		t.Errorf("a watcher that fell behind: %v, want ResourceExhausted", err)
	}
	h.Close()
	if err := <-done; status.Code(err) != codes.Unavailable {
		t.Errorf("stream after Close: %v, want Unavailable", err)
	}
	if _, err := h.Add(even); !errors.Is(err, runtimeerr.ErrUnavailable) {
		t.Errorf("Add after Close: %v, want Unavailable", err)
	}
	if h.Len() != 0 {
		t.Errorf("%d watchers left after Close", h.Len())
	}
}
