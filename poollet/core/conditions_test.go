package core

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
)

func TestSyncedCondition(t *testing.T) {
	for _, tc := range []struct {
		err     error
		reason  string
		mention string
	}{
		{wrapRuntime("create machine", status.Error(codes.Unavailable, "downstream cluster 10.0.0.1:6443 unreachable")), ReasonRuntimeUnavailable, "create machine failed (Unavailable): downstream cluster 10.0.0.1:6443"},
		{wrapRuntime("update machine", status.Error(codes.DeadlineExceeded, "slow")), ReasonRuntimeUnavailable, "DeadlineExceeded"},
		{wrapRuntime("create volume", status.Error(codes.InvalidArgument, "volume class \"x\" is not supported")), ReasonRuntimeRejected, "not supported"},
		{fmt.Errorf("reconcile: %w", wrapRuntime("delete bucket", errors.New("boom"))), ReasonRuntimeError, "boom"},
	} {
		c, ok := syncedCondition(tc.err)
		if !ok || c.Type != ConditionRuntimeSynced || c.Status != corev1.ConditionFalse || c.Reason != tc.reason || !strings.Contains(c.Message, tc.mention) {
			t.Errorf("syncedCondition(%v) = %+v, %v; want False/%s mentioning %q", tc.err, c, ok, tc.reason, tc.mention)
		}
	}
	// An apiserver error says nothing about the runtime.
	if _, ok := syncedCondition(errors.New("machines \"x\" is forbidden")); ok {
		t.Error("a non-runtime error produced a RuntimeSynced condition")
	}
	if _, ok := syncedCondition(nil); ok {
		t.Error("nil produced a RuntimeSynced condition")
	}
}
