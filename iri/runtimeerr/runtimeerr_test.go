// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package runtimeerr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{Invalidf("bad %s", "size"), codes.InvalidArgument},
		{fmt.Errorf("wrapped: %w", NotFoundf("machine %s", "x")), codes.NotFound},
		{Errorf(KindAlreadyExists, "dup"), codes.AlreadyExists},
		{Errorf(KindExhausted, "full"), codes.ResourceExhausted},
		{Errorf(KindFailedPrecondition, "busy"), codes.FailedPrecondition},
		{Errorf(KindUnsupported, "no"), codes.Unimplemented},
		{Errorf(KindUnavailable, "down"), codes.Unavailable},
		{status.Error(codes.Aborted, "as is"), codes.Aborted},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{fmt.Errorf("x: %w", context.Canceled), codes.Canceled},
		{errors.New("unclassified"), codes.Internal},
	} {
		if got := status.Code(ToStatus(tc.err)); got != tc.want {
			t.Errorf("ToStatus(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if ToStatus(nil) != nil {
		t.Error("ToStatus(nil) != nil")
	}
	if !errors.Is(fmt.Errorf("w: %w", NotFoundf("gone")), ErrNotFound) || errors.Is(Invalidf("x"), ErrNotFound) {
		t.Error("errors.Is must match sentinels by kind only")
	}
}
