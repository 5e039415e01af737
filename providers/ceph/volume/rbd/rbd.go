// Package rbd implements volume.Backend with go-ceph (librados/librbd
// through cgo). The real code builds only with the Go build tag `ceph`
// (plus `pacific` against Ceph 16 libraries, as on Debian 12); without it
// Open returns an error saying how to rebuild, so packages that import this
// one still build on machines without Ceph's headers.
package rbd

import (
	"context"
	"errors"

	"github.com/ironfed/ironfed/providers/ceph/volume"
)

// Options says how to reach the cluster and which pool to manage.
type Options struct {
	// Monitors is the monitor list ("host:port,host:port"). It is also the
	// "monitors" attribute handed up to clients. Required.
	Monitors string
	// ConfigFile is an optional ceph.conf read before Monitors is applied.
	ConfigFile string
	// User is the cephx id the provider connects as (default "admin");
	// Key is its secret. Without Key and ConfigFile no keyring is read
	// (a cluster with auth none, like localceph's).
	User, Key string
	// Pool is the RBD pool (default "rbd").
	Pool string
	// ClientUser is the cephx id handed to clients, created (or its caps
	// corrected) with caps restricted to Pool: mon "profile rbd", osd
	// "profile rbd pool=<Pool>". Default "ironfed-<Pool>".
	ClientUser string
	// Timeout bounds connecting and each monitor command (default 30s).
	TimeoutSeconds int
}

// Conn is a connected Backend with direct image I/O for tests and tools.
type Conn interface {
	volume.Backend
	// WriteAt and ReadAt access an image's bytes; with a passphrase through
	// its LUKS2 layer.
	WriteAt(ctx context.Context, image string, passphrase, p []byte, off int64) error
	ReadAt(ctx context.Context, image string, passphrase, p []byte, off int64) error
	// UserCaps returns the caps of a cephx entity ("client.x") as JSON.
	UserCaps(ctx context.Context, entity string) (string, error)
	Close()
}

// ErrNotBuilt is what Open returns in a build without the `ceph` tag.
var ErrNotBuilt = errors.New("this binary was built without Ceph RBD support: rebuild with GOFLAGS=-tags=ceph,pacific (Debian 12's Ceph 16) after installing librados-dev and librbd-dev (hack/leaf-ceph.sh)")

func (o Options) withDefaults() Options {
	if o.User == "" {
		o.User = "admin"
	}
	if o.Pool == "" {
		o.Pool = "rbd"
	}
	if o.ClientUser == "" {
		o.ClientUser = "ironfed-" + o.Pool
	}
	if o.TimeoutSeconds <= 0 {
		o.TimeoutSeconds = 30
	}
	return o
}
