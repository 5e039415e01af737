// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// eventForwarder polls the runtime's ListEvents with a moving time window and records each
// event on the Kubernetes object named by its poollet labels.
type eventForwarder struct {
	kind     labels.Kind
	list     func(ctx context.Context, from, to int64) ([]*eventv1alpha1.Event, error)
	newObj   func() client.Object
	recorder events.EventRecorder
	period   time.Duration
}

func (f *eventForwarder) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("events")
	from := time.Now().UnixNano()
	t := time.NewTicker(f.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		to := time.Now().UnixNano()
		evs, err := f.list(ctx, from, to)
		if err != nil {
			logger.V(1).Info("Listing runtime events failed; retrying next period", "error", err.Error())
			continue // keep from: the window grows until the runtime answers
		}
		from = to + 1
		for _, ev := range evs {
			spec := ev.GetSpec()
			l := spec.GetInvolvedObjectMeta().GetLabels()
			uid, ns, name := l[labels.UIDLabel(f.kind)], l[labels.NamespaceLabel(f.kind)], l[labels.NameLabel(f.kind)]
			if uid == "" || name == "" {
				continue
			}
			obj := f.newObj()
			obj.SetNamespace(ns)
			obj.SetName(name)
			obj.SetUID(types.UID(uid))
			typ := spec.GetType()
			if typ != corev1.EventTypeWarning {
				typ = corev1.EventTypeNormal
			}
			action := spec.GetAction()
			if action == "" {
				action = spec.GetReason()
			}
			f.recorder.Eventf(obj, nil, typ, spec.GetReason(), action, "%s", spec.GetMessage())
		}
	}
}
