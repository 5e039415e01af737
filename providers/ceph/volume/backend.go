// Package volume is an IRI VolumeRuntime on Ceph RBD: one RBD image per
// volume, IRI snapshots as RBD snapshots, QoS as librbd image metadata,
// LUKS2 via librbd. The provider is stateless: every volume's and
// snapshot's IRI metadata lives in its image's metadata, and the in-memory
// index that serves lists and watches is rebuilt from the pool on start.
//
// The domain (Volumes) talks to Ceph through Backend, so it is testable
// with a fake; package rbd implements Backend with go-ceph (cgo).
package volume

import (
	"context"
	"io"
)

// Backend is the RBD pool the runtime manages. Image and snapshot names are
// the runtime's; methods treat a missing image/snapshot on removal as done.
type Backend interface {
	// ListImages returns the names of every image in the pool.
	ListImages(ctx context.Context) ([]string, error)
	// CreateImage creates an image of size bytes; an existing name is an
	// error matching ErrExists.
	CreateImage(ctx context.Context, name string, size uint64) error
	// CloneImage creates child from the protected parent@snap; with flatten
	// it copies the data so that the child no longer depends on the snapshot.
	CloneImage(ctx context.Context, parent, snap, child string, flatten bool) error
	// WriteImage writes r to the image from offset 0.
	WriteImage(ctx context.Context, name string, r io.Reader) error
	RemoveImage(ctx context.Context, name string) error
	ImageSize(ctx context.Context, name string) (uint64, error)
	Resize(ctx context.Context, name string, size uint64) error
	// Metadata returns all image metadata (librbd image-meta).
	Metadata(ctx context.Context, name string) (map[string]string, error)
	SetMetadata(ctx context.Context, name string, kv map[string]string) error
	RemoveMetadata(ctx context.Context, name, key string) error
	// CreateSnapshot creates and protects name@snap.
	CreateSnapshot(ctx context.Context, name, snap string) error
	// RemoveSnapshot unprotects and removes name@snap.
	RemoveSnapshot(ctx context.Context, name, snap string) error
	ListSnapshots(ctx context.Context, name string) ([]string, error)
	// EncryptLUKS2 formats the image with LUKS2 under passphrase.
	EncryptLUKS2(ctx context.Context, name string, passphrase []byte) error
	// LoadLUKS2 opens the image's LUKS2 layer with passphrase: an error means it does not open.
	LoadLUKS2(ctx context.Context, name string, passphrase []byte) error
	// PoolSpace returns the bytes the pool stores and can still store.
	PoolSpace(ctx context.Context) (stored, avail uint64, err error)
	// Access returns what a client (QEMU's librbd) needs: monitor addresses
	// and a cephx user id (without "client.") and key restricted to the pool.
	Access(ctx context.Context) (Access, error)
	// Pool names the pool.
	Pool() string
}

// Access is the connection data handed up in VolumeAccess.
type Access struct {
	Monitors string
	UserID   string
	UserKey  string
}

// ErrExists is what CreateImage returns for a taken name.
var ErrExists = errorString("image exists")

type errorString string

func (e errorString) Error() string { return string(e) }
