// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package runtimeid

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

func TestIDs(t *testing.T) {
	a, b := New(), New()
	if !Valid(a) || a == b || len(a) != Length {
		t.Fatalf("New() = %q, %q: want two distinct valid ids of %d characters", a, b, Length)
	}
	if err := Check("machine_id", a); err != nil {
		t.Fatalf("Check(valid) = %v", err)
	}
	for _, bad := range []string{"", "ABC", strings.Repeat("g", Length), strings.Repeat("a", Length+1), strings.Repeat("x", 500)} {
		err := Check("machine_id", bad)
		if status.Code(runtimeerr.ToStatus(err)) != codes.InvalidArgument || !strings.Contains(err.Error(), "machine_id") || len(err.Error()) > 200 {
			t.Errorf("Check(%.20q) = %v; want a short InvalidArgument naming the field", bad, err)
		}
	}
}
