//go:build !ceph

package rbd

import "context"

// Open fails: this build has no librbd.
func Open(context.Context, Options) (Conn, error) { return nil, ErrNotBuilt }
