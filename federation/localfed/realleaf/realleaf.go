// Package realleaf runs the real leaf providers of a local federation on this host: a private
// libvirtd, a local OCI registry holding the test guest image and the libvirt provider (machines),
// and a one-node Ceph with the RBD volume and RGW bucket providers. Their unix sockets plug into
// localfed.Options.LeafRuntimes. `ironfed up --leaf` and the real-leaf end-to-end tests share it.
//
// Every daemon is started by the project's own code (providers/libvirt/localdaemon,
// providers/ceph/localceph), each wait is bounded, and Stop ends each by its pid. The host needs
// the prerequisites of `make leaf-libvirt ceph-prereqs`; the Ceph volume provider links librbd and
// needs a build with GOFLAGS=-tags=ceph,pacific.
package realleaf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"

	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/libvirt"
	"github.com/ironfed/ironfed/providers/memory"
)

// Leaf kinds Options can ask for.
const (
	Libvirt = "libvirt"
	Ceph    = "ceph"
)

// Options configure Start. Dir and at least one of Libvirt and Ceph are required.
type Options struct {
	// Dir holds every daemon's private state and logs (created).
	Dir string
	// Libvirt, when set, starts the machine leaf.
	Libvirt *LibvirtOptions
	// Ceph, when set, starts the volume and bucket leaf.
	Ceph *CephOptions
	// Log receives the providers' logs. Default: discarded.
	Log logr.Logger
	// Progress receives one line per step. Default: io.Discard.
	Progress io.Writer
	// BinDir, when set, runs the providers as their own binaries from there (Leaves.Processes,
	// for localfed.Options.LeafProcesses: the federation supervises them with its components)
	// instead of in this process. The daemons (libvirtd, registry, Ceph) are started here either way.
	BinDir string
}

// Leaves are the running real leaf providers.
type Leaves struct {
	// Runtimes maps a kind ("machine", "volume", "bucket") to its in-process provider's unix://
	// endpoint, for localfed.Options.LeafRuntimes; empty with Options.BinDir.
	Runtimes map[string]string
	// Processes are the providers to run as processes (Options.BinDir), for
	// localfed.Options.LeafProcesses; they serve once the federation started them.
	Processes []localfed.LeafProcess
	// Machines is the libvirt leaf; nil unless Options.Libvirt was set.
	Machines *MachineLeaf
	// Storage is the Ceph leaf; nil unless Options.Ceph was set.
	Storage *StorageLeaf

	sockDir  string
	progress io.Writer
	mu       sync.Mutex
	stop     []func() error
}

// Start starts the requested leaves (in parallel) and returns once their providers serve. On
// error everything started is stopped again.
func Start(ctx context.Context, o Options) (_ *Leaves, err error) {
	if o.Dir == "" {
		return nil, errors.New("realleaf: Options.Dir is required")
	}
	if o.Libvirt == nil && o.Ceph == nil {
		return nil, errors.New("realleaf: ask for at least one leaf (libvirt, ceph)")
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	// Unix socket paths are limited to 108 bytes: keep them out of deep directories.
	sockDir, err := os.MkdirTemp("", "ironfed-leaf-")
	if err != nil {
		return nil, err
	}
	l := &Leaves{Runtimes: map[string]string{}, sockDir: sockDir, progress: o.Progress}
	l.onStop(func() error { return os.RemoveAll(sockDir) })
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Stop())
		}
	}()
	var wg sync.WaitGroup
	var machineErr, storageErr error
	if o.Libvirt != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Machines, machineErr = l.startMachines(ctx, o, *o.Libvirt)
		}()
	}
	if o.Ceph != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Storage, storageErr = l.startStorage(ctx, o, *o.Ceph)
		}()
	}
	wg.Wait()
	if err := errors.Join(machineErr, storageErr); err != nil {
		return nil, err
	}
	if o.BinDir != "" {
		return l, nil
	}
	if l.Machines != nil {
		l.Runtimes["machine"] = l.Machines.Endpoint
	}
	if l.Storage != nil {
		l.Runtimes["volume"], l.Runtimes["bucket"] = l.Storage.VolumeEndpoint, l.Storage.BucketEndpoint
	}
	return l, nil
}

// Stop stops every provider and daemon Start started, in reverse order, each by its pid.
func (l *Leaves) Stop() error {
	l.mu.Lock()
	stop := l.stop
	l.stop = nil
	l.mu.Unlock()
	var errs []error
	for i := len(stop) - 1; i >= 0; i-- {
		if err := stop[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ProviderConfig returns base with the classes of the real leaves instead of the memory
// provider's, so that localfed creates them in every cluster and the pools announce them.
func (l *Leaves) ProviderConfig(base memory.Config) memory.Config {
	if l.Machines != nil {
		base.MachineClasses = nil
		for _, c := range l.Machines.Classes {
			base.MachineClasses = append(base.MachineClasses, memory.MachineClass{Name: c.Name, CPU: c.CPU, MemoryBytes: c.MemoryBytes, Capacity: 1})
		}
	}
	if l.Storage != nil {
		base.VolumeClasses, base.BucketClasses = nil, nil
		for _, c := range l.Storage.Classes.VolumeClasses {
			base.VolumeClasses = append(base.VolumeClasses, memory.VolumeClass{Name: c.Name, TPS: c.TPS, IOPS: c.IOPS, CapacityBytes: 1 << 30})
		}
		for _, c := range l.Storage.Classes.BucketClasses {
			base.BucketClasses = append(base.BucketClasses, memory.BucketClass{Name: c.Name, TPS: c.TPS, IOPS: c.IOPS, Capacity: 1})
		}
	}
	return base
}

func (l *Leaves) addProcess(p localfed.LeafProcess) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Processes = append(l.Processes, p)
}

func (l *Leaves) onStop(fn func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stop = append(l.stop, fn)
}

func (l *Leaves) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.progress, "[ironfed %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// serve serves register on a unix socket in the leaves' socket directory until Stop.
func (l *Leaves) serve(name string, log logr.Logger, register func(*grpc.Server)) (string, error) {
	srv, err := remote.NewServer(remote.ServeOptions{
		SocketPath: l.sockDir + "/" + name + ".sock", Register: register, Logger: log, ShutdownTimeout: 2 * time.Second,
	})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	l.onStop(func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("serving %s: %w", name, err)
		}
		return nil
	})
	return "unix://" + srv.Path(), nil
}

// DefaultMachineClasses fit TCG guests of the test image on a small host.
func DefaultMachineClasses() []libvirt.MachineClass {
	return []libvirt.MachineClass{{Name: "tcg-small", CPU: 1, MemoryBytes: 128 << 20}, {Name: "tcg-medium", CPU: 1, MemoryBytes: 256 << 20}}
}

// DefaultStorageClasses are the Ceph providers' default classes.
func DefaultStorageClasses() objstore.Classes { return objstore.DefaultClasses() }
