package realleaf

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ironfed/ironfed/providers/ceph/bucket"
	"github.com/ironfed/ironfed/providers/ceph/localceph"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/ceph/volume"
	"github.com/ironfed/ironfed/providers/ceph/volume/rbd"
)

// CephOptions configure the storage leaf.
type CephOptions struct {
	// Cluster, when set, is a running cluster to use (tests share theirs); Stop leaves it running.
	// Otherwise Start starts a one-node cluster with cephx under Dir/ceph.
	Cluster *localceph.Cluster
	// Classes offered. Default DefaultStorageClasses().
	Classes *objstore.Classes
}

// StorageLeaf is the running Ceph leaf.
type StorageLeaf struct {
	Cluster *localceph.Cluster
	// Conn is the volume provider's librbd connection (admin), also usable to read images' bytes.
	// Conn, Volumes, Buckets and RGW are the in-process providers: nil with Options.BinDir.
	Conn    rbd.Conn
	Volumes *volume.Volumes
	Buckets *bucket.Buckets
	RGW     *bucket.RGW
	Classes objstore.Classes
	// VolumeEndpoint and BucketEndpoint are the providers' IRI sockets (unix://...).
	VolumeEndpoint, BucketEndpoint string
}

func (l *Leaves) startStorage(ctx context.Context, o Options, co CephOptions) (*StorageLeaf, error) {
	s := &StorageLeaf{Cluster: co.Cluster, Classes: DefaultStorageClasses()}
	if co.Classes != nil {
		s.Classes = *co.Classes
	}
	if !rbd.Built && o.BinDir == "" {
		return nil, fmt.Errorf("ceph leaf: %w; `make run-leaf` builds it so", rbd.ErrNotBuilt)
	}
	if s.Cluster == nil {
		start := time.Now()
		c, err := localceph.Start(ctx, localceph.Options{Dir: filepath.Join(o.Dir, "ceph"), Cephx: true})
		if err != nil {
			return nil, fmt.Errorf("ceph leaf: %w (prerequisites: `make ceph-prereqs` as root)", err)
		}
		s.Cluster = c
		l.onStop(func() error { c.Stop(); return nil })
		l.logf("ceph (one node)     mon %s, rgw %s, pool %s (%s)", c.MonAddrs, c.RGWEndpoint, c.Pool, time.Since(start).Round(100*time.Millisecond))
	}
	c := s.Cluster
	if o.BinDir != "" {
		procs, err := l.cephProcesses(filepath.Join(o.Dir, "ceph-providers"), s)
		if err != nil {
			return nil, fmt.Errorf("ceph leaf: %w", err)
		}
		for _, p := range procs {
			l.addProcess(p)
		}
		s.VolumeEndpoint, s.BucketEndpoint = "unix://"+procs[0].Sockets["volume"], "unix://"+procs[1].Sockets["bucket"]
		return s, nil
	}
	conn, err := rbd.Open(ctx, rbd.Options{Monitors: c.MonAddrs, Pool: c.Pool, Key: c.AdminKey})
	if err != nil {
		return nil, fmt.Errorf("ceph leaf: %w", err)
	}
	s.Conn = conn
	l.onStop(func() error { conn.Close(); return nil })
	log := o.Log.WithName("ceph-volume-provider")
	if s.Volumes, err = volume.New(ctx, conn, volume.Options{Classes: s.Classes.VolumeClasses, Logger: log}); err != nil {
		return nil, fmt.Errorf("ceph leaf: %w", err)
	}
	l.onStop(func() error { s.Volumes.Close(); return nil })
	if s.VolumeEndpoint, err = l.serve("volume", log, s.Volumes.Register); err != nil {
		return nil, err
	}
	l.logf("ceph RBD provider   %s (volumes in pool %s)", s.VolumeEndpoint, c.Pool)

	if s.RGW, err = bucket.NewRGW(c.RGWEndpoint, c.AdminAccessKey, c.AdminSecretKey); err != nil {
		return nil, fmt.Errorf("ceph leaf: %w", err)
	}
	log = o.Log.WithName("ceph-bucket-provider")
	if s.Buckets, err = bucket.New(ctx, s.RGW, bucket.Options{
		Classes: s.Classes.BucketClasses, Endpoint: strings.TrimPrefix(c.RGWEndpoint, "http://"), Logger: log,
	}); err != nil {
		return nil, fmt.Errorf("ceph leaf: %w", err)
	}
	l.onStop(func() error { s.Buckets.Close(); return nil })
	if s.BucketEndpoint, err = l.serve("bucket", log, s.Buckets.Register); err != nil {
		return nil, err
	}
	l.logf("ceph RGW provider   %s (buckets at %s)", s.BucketEndpoint, c.RGWEndpoint)
	return s, nil
}
