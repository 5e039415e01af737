// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package common

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEventTimeSeconds: IRI event times are Unix seconds, read from what events.k8s.io writers
// set (series, eventTime) before core/v1's timestamps, which they leave empty (IronCore's brokers
// read only lastTimestamp and report -62135596800 for such events).
func TestEventTimeSeconds(t *testing.T) {
	created := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return created.Add(d) }
	for name, tc := range map[string]struct {
		ev   corev1.Event
		want int64
	}{
		"series": {corev1.Event{EventTime: metav1.NewMicroTime(at(time.Second)),
			Series: &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(at(9 * time.Second))}}, created.Unix() + 9},
		"events.k8s.io eventTime": {corev1.Event{EventTime: metav1.NewMicroTime(at(2 * time.Second))}, created.Unix() + 2},
		"core/v1 lastTimestamp":   {corev1.Event{FirstTimestamp: metav1.NewTime(at(time.Second)), LastTimestamp: metav1.NewTime(at(5 * time.Second))}, created.Unix() + 5},
		"core/v1 firstTimestamp":  {corev1.Event{FirstTimestamp: metav1.NewTime(at(3 * time.Second))}, created.Unix() + 3},
		"creation only":           {corev1.Event{}, created.Unix()},
	} {
		tc.ev.CreationTimestamp = metav1.NewTime(created)
		if got := eventTime(&tc.ev); got != tc.want {
			t.Errorf("%s: %d, want %d (Unix seconds)", name, got, tc.want)
		}
	}
}
