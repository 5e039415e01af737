// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"io"
	"net"
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
// resumes from the last resource version it delivered, so the reflector sees neither.
func NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(&ResumingListWatch{Inner: toolscache.ToListerWatcherWithContext(lw)}, obj, resync, indexers)
}

// RecoveryRetry is how often a list or watch is retried while the apiserver does not answer.
const RecoveryRetry = 250 * time.Millisecond

// transientGrace is how long answers of a restarting or overloaded apiserver (503, 500, 429,
// timeouts, and Forbidden/Unauthorized while its authorizer's caches fill) are retried before
// being handed to the reflector, which logs them and backs off. A silent apiserver is waited for
// as long as it takes: there is nothing else to do.
const transientGrace = 30 * time.Second

// ResumingListWatch wraps a ListerWatcher: see NewInformer.
type ResumingListWatch struct {
	Inner toolscache.ListerWatcherWithContext
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
	var out runtime.Object
	err := retryUnreachable(ctx, func() (err error) {
		out, err = l.Inner.ListWithContext(ctx, opts)
		return err
	})
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
	// A streaming list (sendInitialEvents) cannot be resumed half-way: leave it to the reflector.
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		return w, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &resumingWatch{lw: l, opts: opts, rv: opts.ResourceVersion, out: make(chan watch.Event), cancel: cancel}
	go r.run(ctx, w)
	return r, nil
}

// resumingWatch forwards events and, when the stream ends without an error event, watches again
// from the last resource version seen.
type resumingWatch struct {
	lw       *ResumingListWatch
	opts     metav1.ListOptions
	rv       string
	out      chan watch.Event
	cancel   context.CancelFunc
	stopOnce sync.Once
}

func (r *resumingWatch) Stop()                          { r.stopOnce.Do(r.cancel) }
func (r *resumingWatch) ResultChan() <-chan watch.Event { return r.out }

func (r *resumingWatch) run(ctx context.Context, w watch.Interface) {
	defer close(r.out)
	for {
		started := time.Now()
		if !r.forward(ctx, w) {
			w.Stop()
			return
		}
		w.Stop()
		// A stream that ends at once, again and again, must not become a busy loop.
		if time.Since(started) < time.Second {
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
		opts := r.opts
		opts.ResourceVersion = r.rv
		if err := retryUnreachable(ctx, func() (err error) {
			w, err = r.lw.Inner.WatchWithContext(ctx, opts)
			return err
		}); err != nil {
			if ctx.Err() == nil {
				r.send(ctx, watch.Event{Type: watch.Error, Object: statusOf(err)})
			}
			return
		}
	}
}

// forward copies events until the stream ends (true: resume) or the watch is stopped or an error
// event passed (false).
func (r *resumingWatch) forward(ctx context.Context, w watch.Interface) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-w.ResultChan():
			if !ok {
				return ctx.Err() == nil
			}
			if ev.Type != watch.Error {
				if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
					r.rv = m.GetResourceVersion()
				}
			}
			if !r.send(ctx, ev) || ev.Type == watch.Error {
				return false
			}
		}
	}
}

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
