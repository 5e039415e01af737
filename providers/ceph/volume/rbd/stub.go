//go:build !ceph

package rbd

import "context"

// Built reports whether this build links librbd (the ceph build tag).
const Built = false

// Open fails: this build has no librbd.
func Open(context.Context, Options) (Conn, error) { return nil, ErrNotBuilt }
