// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package runtimeid mints and checks the ids of IRI objects, the same way in every runtime of ours:
// 63 lowercase hex characters (252 random bits), like upstream's runtimes, so an id is also a valid
// Kubernetes label value, DNS label and S3 bucket name.
package runtimeid

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// Length is the length of every id.
const Length = 63

// New returns a random id.
func New() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux (Go >= 1.24 panics instead)
	return hex.EncodeToString(b[:])[:Length]
}

// Valid reports whether id has the shape of a minted id.
func Valid(id string) bool {
	if len(id) != Length {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Check validates an id given in a request; field names it in the message ("machine_id").
func Check(field, id string) error {
	if id == "" {
		return runtimeerr.Invalidf("%s is required", field)
	}
	if !Valid(id) {
		if len(id) > 80 {
			id = id[:80] + "..."
		}
		return runtimeerr.Invalidf("%s %q is malformed: ids of this runtime are %d lowercase hex characters", field, id, Length)
	}
	return nil
}
