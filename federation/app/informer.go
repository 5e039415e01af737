// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// NewInformer is a cache.Options.NewInformer whose informers come back within about a second of
// their apiserver answering again. client-go's reflector backs off exponentially (0.8 s doubling
// to 30 s, with as much jitter again) whenever a list or watch fails or a watch ends, so a cache
// could stay stale for up to a minute after an outage: pools stayed HeartbeatExpired and pending
// objects untouched 46–62 s after their apiserver was back (issue 18). The reflector's backoff is
// not configurable through controller-runtime; its list and watch calls are. Here they wait out
// an unreachable apiserver themselves, retrying every RecoveryRetry, and a watch that breaks
// resumes from the last resource version it delivered, or catches up with a list when that
// version expired (resync.go), so the reflector sees neither.
func NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(&ResumingListWatch{Inner: toolscache.ToListerWatcherWithContext(lw), Kind: kindOf(obj)}, obj, resync, indexers)
}

// kindOf names obj's kind in metrics: its GroupVersionKind's kind when set (unstructured,
// metadata-only), else its Go type.
func kindOf(obj runtime.Object) string {
	if k := obj.GetObjectKind().GroupVersionKind().Kind; k != "" {
		return k
	}
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// RecoveryRetry is how often a list or watch is retried while the apiserver does not answer.
const RecoveryRetry = 250 * time.Millisecond

// transientGrace is how long answers of a restarting or overloaded apiserver (503, 500, 429,
// timeouts, and Forbidden/Unauthorized while its authorizer's caches fill) are retried before
// being handed to the reflector, which logs them and backs off. A silent apiserver is waited for
// as long as it takes: there is nothing else to do.
const transientGrace = 30 * time.Second

// ResumingListWatch wraps a ListerWatcher: see NewInformer. One serves one reflector.
type ResumingListWatch struct {
	Inner toolscache.ListerWatcherWithContext
	// Kind labels its metrics.
	Kind string

	delivered delivered
}

var (
	_ toolscache.ListerWatcher            = (*ResumingListWatch)(nil)
	_ toolscache.ListerWatcherWithContext = (*ResumingListWatch)(nil)
)

func (l *ResumingListWatch) List(opts metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), opts)
}

func (l *ResumingListWatch) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), opts)
}

func (l *ResumingListWatch) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	if opts.Continue == "" {
		reflectorRelists.WithLabelValues(l.Kind).Inc()
	}
	var out runtime.Object
	err := retryUnreachable(ctx, func() (err error) {
		out, err = l.Inner.ListWithContext(ctx, opts)
		return err
	})
	if err == nil {
		l.delivered.listed(opts, out)
	}
	return out, err
}

func (l *ResumingListWatch) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	var w watch.Interface
	if err := retryUnreachable(ctx, func() (err error) {
		w, err = l.Inner.WatchWithContext(ctx, opts)
		return err
	}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &resumingWatch{lw: l, opts: opts, rv: opts.ResourceVersion, out: make(chan watch.Event), cancel: cancel, epoch: l.delivered.current()}
	// A streaming list (sendInitialEvents) cannot be resumed half-way: until its initial events
	// end, a break ends it and the reflector lists again.
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		reflectorRelists.WithLabelValues(l.Kind).Inc()
		r.initial = map[string]runtime.Object{}
	}
	go r.run(ctx, w)
	return r, nil
}

// resumingWatch forwards events and, when the stream ends without an error event, watches again
// from the last resource version seen; when that version expired, it resyncs (resync.go).
type resumingWatch struct {
	lw       *ResumingListWatch
	opts     metav1.ListOptions
	rv       string
	out      chan watch.Event
	cancel   context.CancelFunc
	stopOnce sync.Once
	// epoch of the list this watch continues (delivered.epoch).
	epoch uint64
	// initial collects a streamed list's objects until its initial-events-end bookmark.
	initial map[string]runtime.Object
}

func (r *resumingWatch) Stop()                          { r.stopOnce.Do(r.cancel) }
func (r *resumingWatch) ResultChan() <-chan watch.Event { return r.out }

// streamEnd is why forward returned.
type streamEnd int

const (
	stopped streamEnd = iota // the watch was stopped or an error event was passed on
	ended                    // the stream closed: resume
	gone                     // 410 Expired: resync, then resume
)

func (r *resumingWatch) run(ctx context.Context, w watch.Interface) {
	defer close(r.out)
	for {
		started := time.Now()
		end, errEvent := r.forward(ctx, w)
		w.Stop()
		if end == stopped || r.initial != nil {
			if r.initial != nil && errEvent != nil {
				r.send(ctx, *errEvent)
			}
			return
		}
		// A stream that ends at once, again and again, must not become a busy loop.
		if end == ended && time.Since(started) < time.Second {
			select {
			case <-ctx.Done():
				return
			case <-time.After(RecoveryRetry):
			}
		}
		// The stream ended: the apiserver went away or its watch timeout passed. Without a resource
		// version to resume from, end as the reflector expects (it lists again).
		if r.rv == "" || r.rv == "0" {
			return
		}
		if end == gone && !r.healed(ctx, errEvent) {
			return
		}
		var err error
		// A watch from a resynced list's own version should not expire; if it keeps doing so,
		// the reflector's relist is the way out.
		for attempt := 0; ; attempt++ {
			opts := r.opts
			opts.ResourceVersion, opts.SendInitialEvents, opts.ResourceVersionMatch = r.rv, nil, ""
			if err = retryUnreachable(ctx, func() (err error) {
				w, err = r.lw.Inner.WatchWithContext(ctx, opts)
				return err
			}); err == nil || !expired(err) || attempt == 2 {
				break
			}
			if !r.healed(ctx, &watch.Event{Type: watch.Error, Object: statusOf(err)}) {
				return
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				r.send(ctx, watch.Event{Type: watch.Error, Object: statusOf(err)})
			}
			return
		}
		watchResumes.WithLabelValues(r.lw.Kind).Inc()
	}
}

// healed resyncs after a 410; when it cannot, it passes the 410 on (the reflector relists).
func (r *resumingWatch) healed(ctx context.Context, errEvent *watch.Event) bool {
	rv, ok := r.resync(ctx)
	if ok {
		r.rv = rv
		return true
	}
	if ctx.Err() == nil && errEvent != nil {
		r.send(ctx, *errEvent)
	}
	return false
}

// forward copies events until the stream ends, expires (the error event is returned, not
// passed on), or the watch is stopped or another error event passed.
func (r *resumingWatch) forward(ctx context.Context, w watch.Interface) (streamEnd, *watch.Event) {
	for {
		select {
		case <-ctx.Done():
			return stopped, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return stopped, nil
				}
				return ended, nil
			}
			if expiredEvent(ev) {
				return gone, &ev
			}
			if brokenStream(ev) {
				return ended, nil
			}
			if ev.Type != watch.Error {
				if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
					r.rv = m.GetResourceVersion()
				}
				r.record(ev)
			}
			if !r.send(ctx, ev) || ev.Type == watch.Error {
				return stopped, nil
			}
		}
	}
}

// record keeps what the reflector was given, for a later resync.
func (r *resumingWatch) record(ev watch.Event) {
	if r.initial == nil {
		r.lw.delivered.apply(r.epoch, ev)
		return
	}
	switch ev.Type {
	case watch.Added:
		if key, ok := objectKey(ev.Object); ok {
			r.initial[key] = ev.Object
		}
	case watch.Bookmark:
		if m, err := meta.Accessor(ev.Object); err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true" {
			r.epoch = r.lw.delivered.replace(r.initial)
			r.initial = nil
		}
	}
}

// brokenStream reports the error event client-go makes of a stream it could not read on (a
// connection closed under it): the apiserver said nothing, so the watch resumes like after any
// other break. Passed on, each one cost a relist after the reflector's backoff (31 in one chaos
// run, CI).
func brokenStream(ev watch.Event) bool {
	if ev.Type != watch.Error {
		return false
	}
	st, ok := ev.Object.(*metav1.Status)
	if !ok || st.Details == nil {
		return false
	}
	for _, c := range st.Details.Causes {
		if c.Type == clientWatchDecoding {
			return true
		}
	}
	return false
}

// clientWatchDecoding is the cause client-go's REST client gives a watch event it could not
// decode (rest.Request.newStreamWatcher).
const clientWatchDecoding = "ClientWatchDecoding"

func (r *resumingWatch) send(ctx context.Context, ev watch.Event) bool {
	select {
	case r.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func statusOf(err error) runtime.Object {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		st := s.Status()
		return &st
	}
	return &metav1.Status{Status: metav1.StatusFailure, Message: err.Error(), Reason: metav1.StatusReasonInternalError, Code: 500}
}

// retryUnreachable calls f until it succeeds, fails for another reason than an unreachable or
// warming-up apiserver, or ctx ends.
func retryUnreachable(ctx context.Context, f func() error) error {
	start := time.Now()
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !unreachable(err) && !(transient(err) && time.Since(start) < transientGrace) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(RecoveryRetry):
		}
	}
}

// unreachable reports a connection that failed: the apiserver is down or restarting.
func unreachable(err error) bool {
	if _, ok := err.(apierrors.APIStatus); ok {
		return false
	}
	var ne net.Error
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// transient reports answers of an apiserver that is restarting (no etcd yet, authorizer caches
// filling) or overloaded.
func transient(err error) bool {
	return apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err) ||
		apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}
