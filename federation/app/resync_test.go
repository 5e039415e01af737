// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func named(name, rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}}
}

func list(rv string, items ...*corev1.ConfigMap) *corev1.ConfigMapList {
	l := &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: rv}}
	for _, i := range items {
		l.Items = append(l.Items, *i)
	}
	return l
}

// events reads w until it has n events or closes; each as TYPE:name@rv, errors as "error".
func events(t *testing.T, w watch.Interface, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return got
			}
			if ev.Type == watch.Error {
				got = append(got, "error")
				continue
			}
			c := ev.Object.(*corev1.ConfigMap)
			got = append(got, string(ev.Type)+":"+c.Name+"@"+c.ResourceVersion)
		case <-timeout:
			t.Fatalf("only %v after 10 s", got)
		}
	}
	return got
}

// TestResyncAfterExpiry: a resumed watch answered 410 lists and sends the difference to what the
// reflector was given (changed, new, gone), then watches on from the list's version; the
// reflector sees no error, so it neither relists nor backs off.
func TestResyncAfterExpiry(t *testing.T) {
	first, second, third := watch.NewFakeWithChanSize(4, false), watch.NewFakeWithChanSize(4, false), watch.NewFakeWithChanSize(4, false)
	f := &fakeLW{streams: []*watch.FakeWatcher{first, second, third}, lists: []*corev1.ConfigMapList{
		list("10", named("a", "1"), named("b", "2"), named("c", "3")),
		list("20", named("a", "4"), named("c", "3"), named("d", "15")), // b deleted, a changed, d new
	}}
	lw := &ResumingListWatch{Inner: f, Kind: "ConfigMap"}
	if _, err := lw.ListWithContext(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := lw.WatchWithContext(t.Context(), metav1.ListOptions{ResourceVersion: "10"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first.Add(named("e", "11"))
	first.Stop()                                                              // the apiserver restarted
	second.Error(&apierrors.NewResourceExpired("too old: 11 (18)").ErrStatus) // and rebuilt its watch cache
	got := events(t, w, 5)
	third.Modify(named("d", "21"))
	got = append(got, events(t, w, 1)...)
	want := []string{"ADDED:e@11", "MODIFIED:a@4", "ADDED:d@15", "DELETED:b@2", "DELETED:e@11", "MODIFIED:d@21"}
	// The resync's events come in list order, then the deletions in any order.
	if len(got) != len(want) || !slices.Equal(got[:3], want[:3]) || got[5] != want[5] ||
		!slices.Equal(sorted(got[3:5]), sorted(want[3:5])) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if !slices.Equal(f.rvs, []string{"10", "11", "20"}) {
		t.Errorf("watches from %v, want 10, then 11 (resumed), then 20 (the resync's list)", f.rvs)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestResyncAfterStreamedList: what a streamed list (sendInitialEvents) delivered up to its
// initial-events-end bookmark is what a later resync compares with; a break before that
// bookmark ends the watch (the reflector lists again).
func TestResyncAfterStreamedList(t *testing.T) {
	first, second, third := watch.NewFakeWithChanSize(4, false), watch.NewFakeWithChanSize(4, false), watch.NewFakeWithChanSize(4, false)
	f := &fakeLW{streams: []*watch.FakeWatcher{first, second, third}, lists: []*corev1.ConfigMapList{
		list("30", named("a", "1")),
	}}
	lw := &ResumingListWatch{Inner: f, Kind: "ConfigMap"}
	yes := true
	w, err := lw.WatchWithContext(t.Context(), metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first.Add(named("a", "1"))
	first.Add(named("b", "2"))
	end := named("", "5")
	end.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	first.Action(watch.Bookmark, end)
	first.Stop()
	second.Error(&apierrors.NewResourceExpired("too old").ErrStatus)
	got := events(t, w, 4)
	want := []string{"ADDED:a@1", "ADDED:b@2", "BOOKMARK:@5", "DELETED:b@2"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if len(f.rvs) != 3 || f.rvs[1] != "5" || f.rvs[2] != "30" {
		t.Errorf("watches from %v, want the resumed one from 5 and the last from 30", f.rvs)
	}

	// Before the bookmark, a break ends the stream.
	early := watch.NewFakeWithChanSize(4, false)
	f.streams = append(f.streams, early)
	w2, err := lw.WatchWithContext(t.Context(), metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	early.Add(named("a", "1"))
	early.Stop()
	if got := events(t, w2, 2); !slices.Equal(got, []string{"ADDED:a@1"}) {
		t.Fatalf("a streamed list broken half-way: %v, want its one event and the end", got)
	}
}
