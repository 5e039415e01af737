// Package conformance is a critest-like suite for IRI runtimes: it talks to
// any machine, volume and bucket runtime over its unix socket, with the
// generated gRPC clients (so it tests the wire), and checks the behaviour
// docs/iri.md and docs/conformance.md describe: every RPC, idempotence,
// precise error codes, generations, watches, concurrency.
//
// Run it under go test with RunTests, or standalone with Run (the
// iri-conformance command). Each case creates what it needs, labelled with
// a per-case run label, and deletes it again at the end.
package conformance

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/grpc"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

// Runtime names the runtime a case exercises.
type Runtime string

const (
	Machine Runtime = "machine"
	Volume  Runtime = "volume"
	Bucket  Runtime = "bucket"
)

// Case is one conformance check.
type Case struct {
	Runtime Runtime
	// Name is unique within the runtime; the full name is "<runtime>/<name>".
	Name string
	Run  func(ctx context.Context, c *C)
}

// FullName is "<runtime>/<name>", what Focus and Skip match.
func (k Case) FullName() string { return string(k.Runtime) + "/" + k.Name }

// Suite is an ordered list of cases.
type Suite []Case

// DefaultSuite returns every case, grouped by runtime.
func DefaultSuite() Suite {
	var s Suite
	s = append(s, genericCases(machineAPI)...)
	s = append(s, machineCases()...)
	s = append(s, genericCases(volumeAPI)...)
	s = append(s, volumeCases()...)
	s = append(s, genericCases(bucketAPI)...)
	s = append(s, bucketCases()...)
	return s
}

// Config says what to test and how patiently.
type Config struct {
	// Endpoints of the runtimes ("unix:///path" or "/path"). The cases of a
	// runtime without an endpoint are reported as skipped.
	MachineEndpoint, VolumeEndpoint, BucketEndpoint string
	// Focus and Skip are regular expressions on "<runtime>/<case>": only
	// cases matching Focus (default: all) and not matching Skip run.
	Focus, Skip string
	// CaseTimeout bounds one case (default 2m).
	CaseTimeout time.Duration
	// WaitTimeout bounds each wait for an asynchronous state, e.g. a machine
	// becoming Running (default 30s).
	WaitTimeout time.Duration
	// PollInterval is how often a wait polls (default 100ms).
	PollInterval time.Duration
	// DialTimeout bounds connecting to an endpoint (default 10s).
	DialTimeout time.Duration
	// MachineVolume, if set, returns the connection of the remote volume named name (at least
	// sizeBytes) that machine cases attach; it is called again with a larger size when a case
	// grows the volume. Default: a ceph volume "conformance/<name>" on 127.0.0.1:6789 that need not
	// exist. A runtime that really opens the volume (the libvirt provider's QEMU) needs a real one.
	MachineVolume func(ctx context.Context, name string, sizeBytes int64) (*machinev1alpha1.VolumeConnection, error)
}

func (cfg Config) withDefaults() Config {
	if cfg.CaseTimeout <= 0 {
		cfg.CaseTimeout = 2 * time.Minute
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	return cfg
}

// Select returns the cases that Focus and Skip let through.
func (s Suite) Select(focus, skip string) (Suite, error) {
	var f, k *regexp.Regexp
	var err error
	if focus != "" {
		if f, err = regexp.Compile(focus); err != nil {
			return nil, fmt.Errorf("focus: %w", err)
		}
	}
	if skip != "" {
		if k, err = regexp.Compile(skip); err != nil {
			return nil, fmt.Errorf("skip: %w", err)
		}
	}
	var out Suite
	for _, c := range s {
		if (f == nil || f.MatchString(c.FullName())) && (k == nil || !k.MatchString(c.FullName())) {
			out = append(out, c)
		}
	}
	return out, nil
}

// env is what every case of one run shares: the clients and the classes
// discovered from the runtimes.
type env struct {
	cfg     Config
	machine machinev1alpha1.MachineRuntimeClient
	volume  volumev1alpha1.VolumeRuntimeClient
	bucket  bucketv1alpha1.BucketRuntimeClient
	conns   []*grpc.ClientConn
	classes classCache
}

// connect dials the configured endpoints.
func connect(ctx context.Context, cfg Config) (*env, error) {
	e := &env{cfg: cfg}
	dial := func(endpoint string) (*grpc.ClientConn, error) {
		if endpoint == "" {
			return nil, nil
		}
		conn, err := remote.Dial(ctx, endpoint, remote.WithDialTimeout(cfg.DialTimeout), remote.WithoutClientMetrics())
		if err != nil {
			return nil, err
		}
		e.conns = append(e.conns, conn)
		return conn, nil
	}
	var err error
	var conn *grpc.ClientConn
	if conn, err = dial(cfg.MachineEndpoint); err != nil {
		e.close()
		return nil, err
	} else if conn != nil {
		e.machine = machinev1alpha1.NewMachineRuntimeClient(conn)
	}
	if conn, err = dial(cfg.VolumeEndpoint); err != nil {
		e.close()
		return nil, err
	} else if conn != nil {
		e.volume = volumev1alpha1.NewVolumeRuntimeClient(conn)
	}
	if conn, err = dial(cfg.BucketEndpoint); err != nil {
		e.close()
		return nil, err
	} else if conn != nil {
		e.bucket = bucketv1alpha1.NewBucketRuntimeClient(conn)
	}
	return e, nil
}

func (e *env) close() {
	for _, c := range e.conns {
		_ = c.Close()
	}
}

func (e *env) has(r Runtime) bool {
	switch r {
	case Machine:
		return e.machine != nil
	case Volume:
		return e.volume != nil
	case Bucket:
		return e.bucket != nil
	}
	return false
}
