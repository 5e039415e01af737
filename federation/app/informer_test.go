// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// fakeLW hands out the watches queued in streams; an error in errs is returned first.
type fakeLW struct {
	mu      sync.Mutex
	errs    []error
	streams []*watch.FakeWatcher
	rvs     []string
	lists   []*corev1.ConfigMapList // answers of List, in turn; then empty lists
}

func (f *fakeLW) ListWithContext(context.Context, metav1.ListOptions) (runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	if len(f.lists) > 0 {
		l := f.lists[0]
		f.lists = f.lists[1:]
		return l, nil
	}
	return &corev1.ConfigMapList{}, nil
}

func (f *fakeLW) WatchWithContext(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	f.rvs = append(f.rvs, o.ResourceVersion)
	w := f.streams[0]
	f.streams = f.streams[1:]
	return w, nil
}

func refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
}

func cm(rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: rv}}
}

// TestResumingWatch: a watch whose stream breaks resumes from the last resource version it
// delivered, through refused connections, without the consumer seeing the break; an error event
// (410 Gone) ends it as before, so the reflector lists again.
func TestResumingWatch(t *testing.T) {
	first, second := watch.NewFakeWithChanSize(4, false), watch.NewFakeWithChanSize(4, false)
	f := &fakeLW{streams: []*watch.FakeWatcher{first, second}}
	lw := &ResumingListWatch{Inner: f}
	w, err := lw.WatchWithContext(t.Context(), metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	first.Add(cm("5"))
	first.Modify(cm("7"))
	f.mu.Lock()
	f.errs = []error{refused(), refused()}
	f.mu.Unlock()
	first.Stop() // the apiserver went away
	second.Modify(cm("9"))
	second.Error(&apierrors.NewResourceExpired("too old").ErrStatus)
	var got []string
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				done = true
				break
			}
			if ev.Type == watch.Error {
				got = append(got, "error")
				continue
			}
			got = append(got, string(ev.Type)+"@"+ev.Object.(*corev1.ConfigMap).ResourceVersion)
		case <-timeout:
			t.Fatalf("no end of watch; got %v", got)
		}
	}
	want := []string{"ADDED@5", "MODIFIED@7", "MODIFIED@9", "error"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if len(f.rvs) != 2 || f.rvs[1] != "7" {
		t.Errorf("watches from %v, want the second from 7", f.rvs)
	}
}

// TestResumingList: a list waits out a refused connection; a real error passes through at once.
func TestResumingList(t *testing.T) {
	f := &fakeLW{errs: []error{refused(), refused()}}
	lw := &ResumingListWatch{Inner: f}
	if _, err := lw.ListWithContext(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatalf("list through an outage: %v", err)
	}
	f.errs = []error{apierrors.NewBadRequest("no"), nil}
	start := time.Now()
	if _, err := lw.ListWithContext(t.Context(), metav1.ListOptions{}); !apierrors.IsBadRequest(err) {
		t.Fatalf("bad request: got %v", err)
	}
	f.errs = []error{apierrors.NewNotFound(schema.GroupResource{Resource: "x"}, "y")}
	if _, err := lw.ListWithContext(t.Context(), metav1.ListOptions{}); !apierrors.IsNotFound(err) || time.Since(start) > time.Second {
		t.Fatalf("not found: got %v after %s", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	f.errs = []error{refused(), refused(), refused(), refused(), refused(), refused(), refused(), refused()}
	time.AfterFunc(300*time.Millisecond, cancel)
	if _, err := lw.ListWithContext(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("a cancelled list through an outage succeeded")
	}
}

// TestResumingWatchThroughBrokenStream: the error event client-go makes of a stream it could not
// read on is a break like any other: the watch resumes from the last resource version delivered
// and the consumer never sees the error (it would relist after the reflector's backoff).
func TestResumingWatchThroughBrokenStream(t *testing.T) {
	first, second := watch.NewFakeWithChanSize(4, false), watch.NewFakeWithChanSize(4, false)
	f := &fakeLW{streams: []*watch.FakeWatcher{first, second}}
	lw := &ResumingListWatch{Inner: f}
	w, err := lw.WatchWithContext(t.Context(), metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	first.Add(cm("5"))
	broken := apierrors.NewClientErrorReporter(500, "GET", clientWatchDecoding).AsObject(
		errors.New("unable to decode an event from the watch stream: http2: client connection force closed via ClientConn.Close"))
	first.Error(broken)
	second.Modify(cm("9"))
	for _, want := range []string{"ADDED@5", "MODIFIED@9"} {
		select {
		case ev := <-w.ResultChan():
			got := string(ev.Type)
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
				got += "@" + cm.ResourceVersion
			}
			if got != want {
				t.Fatalf("event %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", want)
		}
	}
	w.Stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rvs) != 2 || f.rvs[1] != "5" {
		t.Errorf("watches from %v, want the second from 5", f.rvs)
	}
}
