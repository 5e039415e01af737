// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	kevents "k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// EventRecorders is what mgr.GetEventRecorder gives (events.k8s.io Events through client-go's
// broadcaster, which folds repeats into series), except that the Events reach the apiserver as
// protobuf. The manager's own broadcaster uses the manager's config, whose content type must stay
// JSON for our CRDs, so its Events went as JSON; the scheduler writes one per bind, and the
// apiserver decodes protobuf for less CPU.
type EventRecorders struct {
	broadcaster kevents.EventBroadcaster
	scheme      *runtime.Scheme
}

// NewEventRecorders starts a broadcaster when mgr starts and shuts it down when mgr stops.
func NewEventRecorders(mgr manager.Manager) (*EventRecorders, error) {
	cfg := rest.CopyConfig(mgr.GetConfig())
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cl, err := eventsv1client.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return nil, err
	}
	r := &EventRecorders{broadcaster: kevents.NewBroadcaster(&kevents.EventSinkImpl{Interface: cl}), scheme: mgr.GetScheme()}
	err = mgr.Add(sinkRunnable(func(ctx context.Context) error {
		// Not ctx itself: Shutdown first hands the queued Events to the sink, which needs a live
		// context to write them (controller-runtime's provider stops in the same order).
		sinkCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		if err := r.broadcaster.StartRecordingToSinkWithContext(sinkCtx); err != nil {
			return err
		}
		<-ctx.Done()
		r.broadcaster.Shutdown()
		return nil
	}))
	return r, err
}

// sinkRunnable runs on every replica, leader or not, as the manager's own recorder does: an
// Event recorded before the sink starts would reach no watcher and be lost.
type sinkRunnable func(context.Context) error

func (f sinkRunnable) Start(ctx context.Context) error { return f(ctx) }

func (sinkRunnable) NeedLeaderElection() bool { return false }

// For returns the recorder of one controller (the Events' reportingController).
func (r *EventRecorders) For(name string) kevents.EventRecorder {
	return r.broadcaster.NewRecorder(r.scheme, name)
}
