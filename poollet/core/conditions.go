// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
)

// Condition types a poollet owns on the objects of its pool. They are ironfed's; upstream's
// poollets set none. Poollets never copy them from the runtime: each level reports its own.
const (
	// ConditionPrerequisitesMet says whether everything the object refers to is available.
	ConditionPrerequisitesMet = commonv1alpha1.ConditionTypePrerequisitesMet
	// ConditionRuntimeSynced says whether the last call to the runtime for this object
	// succeeded: False while the runtime (a provider, or a broker and the cluster below it)
	// fails, with the runtime's error, so an outage shows on every object it holds up.
	ConditionRuntimeSynced = commonv1alpha1.ConditionTypeRuntimeSynced
)

// Reasons of ConditionRuntimeSynced.
const (
	ReasonSynced = "Synced"
	// ReasonRuntimeUnavailable: the runtime or what is behind it cannot be reached (gRPC
	// Unavailable or DeadlineExceeded); retried with backoff.
	ReasonRuntimeUnavailable = "RuntimeUnavailable"
	// ReasonRuntimeRejected: the runtime refused the object (InvalidArgument,
	// FailedPrecondition, ResourceExhausted, ...); fix the object or the pool.
	ReasonRuntimeRejected = "RuntimeRejected"
	// ReasonRuntimeError: any other failure.
	ReasonRuntimeError = "RuntimeError"
)

// FieldManager is the server-side-apply field manager of the poollet of kind ("Machine" or
// "machine" → "machinepoollet").
func FieldManager(kind string) string {
	return strings.ReplaceAll(strings.ToLower(kind), "-", "") + "poollet"
}

// OwnedObjectStatus is what the poollet writes of a bound object's status: all of it except the
// scheduler's Scheduled condition.
var OwnedObjectStatus = conditions.Owned{Conditions: conditions.AllBut(commonv1alpha1.ConditionTypeScheduled)}

// OwnedPoolStatus is what the poollet writes of its pool's status: all of it. Ready and state are
// shared with the pool-lifecycle controller (HeartbeatExpired); that one writes conditionally.
var OwnedPoolStatus = conditions.Owned{Conditions: conditions.AllBut()}

// prerequisitesCondition is the PrerequisitesMet condition for w (nil: met) of an object of kind.
func prerequisitesCondition(kind string, w *Waiting) conditions.Condition {
	if w != nil {
		return conditions.Condition{Type: ConditionPrerequisitesMet, Status: corev1.ConditionFalse, Reason: w.Reason, Message: w.Message}
	}
	return conditions.Condition{Type: ConditionPrerequisitesMet, Status: corev1.ConditionTrue, Reason: "PrerequisitesMet",
		Message: fmt.Sprintf("Everything the %s refers to is available.", kind)}
}

// runtimeError marks an error returned by the runtime, as opposed to one of the apiserver.
type runtimeError struct {
	call string
	err  error
}

func (e *runtimeError) Error() string { return e.call + ": " + e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

func wrapRuntime(call string, err error) error {
	if err == nil {
		return nil
	}
	return &runtimeError{call: call, err: err}
}

// runtimeUnavailable reports a runtime call in err that failed Unavailable or timed out.
func runtimeUnavailable(err error) bool {
	var re *runtimeError
	if !errors.As(err, &re) {
		return false
	}
	c := status.Code(re.err)
	return c == codes.Unavailable || c == codes.DeadlineExceeded
}

// syncedCondition is ConditionRuntimeSynced for the outcome err of the runtime calls of one
// reconcile; ok is false when err holds no runtime error (nothing to say about the runtime).
func syncedCondition(err error) (conditions.Condition, bool) {
	var re *runtimeError
	if !errors.As(err, &re) {
		return conditions.Condition{}, false
	}
	reason := ReasonRuntimeError
	switch status.Code(re.err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		reason = ReasonRuntimeUnavailable
	case codes.InvalidArgument, codes.FailedPrecondition, codes.ResourceExhausted, codes.OutOfRange, codes.AlreadyExists, codes.PermissionDenied:
		reason = ReasonRuntimeRejected
	}
	msg := re.err.Error()
	if s, ok := status.FromError(re.err); ok {
		msg = fmt.Sprintf("%s failed (%s): %s", re.call, s.Code(), s.Message())
	}
	return conditions.Condition{Type: ConditionRuntimeSynced, Status: corev1.ConditionFalse, Reason: reason, Message: msg}, true
}

var syncedTrue = conditions.Condition{Type: ConditionRuntimeSynced, Status: corev1.ConditionTrue, Reason: ReasonSynced, Message: "The runtime holds the object as specified."}
