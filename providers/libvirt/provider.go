// Package libvirt is an IRI MachineRuntime backed by libvirtd and QEMU: every machine is a persistent
// libvirt domain named by the machine id, with the IRI object in the domain's <metadata>, so the
// provider's state is rebuilt from libvirt when it restarts. Boot images come from OCI registries in
// IronCore's format (package image); disks are qcow2 files (overlays over a cached rootfs) or RBD images;
// NICs are user-mode (IronCore's "isolated"); the ignition reaches the guest via fw_cfg.
//
// The domain type (Provider, testable without gRPC) serialises all libvirt work in one reconcile worker;
// the gRPC layer (MachineServer) only maps requests and errors.
package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/go-logr/logr"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/iri/watchhub"
	"github.com/ironfed/ironfed/providers/internal/console"
	"github.com/ironfed/ironfed/providers/libvirt/image"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// RuntimeName and RuntimeVersion are what Version reports.
const (
	RuntimeName    = "ironfed-libvirt"
	RuntimeVersion = "0.1.0"
)

// Provider is the machine runtime.
type Provider struct {
	cfg     Config
	log     logr.Logger
	lv      *golibvirt.Libvirt
	images  *image.Cache
	domType string
	// cephConf bounds how long QEMU's librbd waits for monitors: an unreachable cluster fails an
	// attach or a start within a minute instead of hanging libvirt's job (librbd's default is 300 s).
	cephConf string
	events   *eventLog
	console  *console.Server

	mu       sync.Mutex
	machines map[string]*record
	byUID    map[string]string // poollet UID label → machine id
	watchers *watchhub.Hub[*machinev1alpha1.Machine]
	closed   bool

	queue   chan struct{}
	dirty   map[string]bool // guarded by mu
	stop    context.CancelFunc
	stopped chan struct{}
}

// record is one machine: its current object (an immutable snapshot, replaced on change) and what the
// reconciler tracks about it.
type record struct {
	obj           *machinev1alpha1.Machine
	imageDigest   string
	shutdownSince time.Time // when an ACPI shutdown was requested
	deleting      bool
}

// New connects to libvirtd, rebuilds the machines from the domains it owns, sweeps what it owns but
// no longer knows, and starts the reconcile worker. Close stops it.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, runtimeerr.Errorf(runtimeerr.KindInvalid, "libvirt provider config: %v", err)
	}
	cfg = cfg.withDefaults()
	root, err := filepath.Abs(cfg.RootDir)
	if err != nil {
		return nil, err
	}
	cfg.RootDir = root
	if cfg.Owner == "" {
		cfg.Owner = root
	}
	if err := os.MkdirAll(filepath.Join(root, "machines"), 0o700); err != nil {
		return nil, err
	}
	images, err := image.NewCache(filepath.Join(root, "images"), cfg.Registry)
	if err != nil {
		return nil, err
	}
	cephConf := filepath.Join(root, "ceph.conf")
	if err := os.WriteFile(cephConf, []byte("[global]\nclient_mount_timeout = 20\nrados_mon_op_timeout = 20\nrados_osd_op_timeout = 60\n"), 0o644); err != nil {
		return nil, err
	}
	lv, err := localdaemon.Connect(cfg.Socket)
	if err != nil {
		return nil, runtimeerr.Errorf(runtimeerr.KindUnavailable, "%v", err)
	}
	p := &Provider{
		cfg: cfg, log: cfg.Log, lv: lv, images: images, cephConf: cephConf,
		events:   newEventLog(4096),
		machines: map[string]*record{},
		byUID:    map[string]string{},
		watchers: watchhub.New[*machinev1alpha1.Machine](watchBuffer),
		queue:    make(chan struct{}, 1),
		dirty:    map[string]bool{},
		stopped:  make(chan struct{}),
	}
	p.console = console.New(cfg.ExecBaseURL, ptyConsole{p}, cfg.Log.WithName("console"))
	if p.domType, err = p.detectDomainType(); err != nil {
		_ = lv.Disconnect()
		return nil, err
	}
	if err := p.rebuild(); err != nil {
		_ = lv.Disconnect()
		return nil, fmt.Errorf("rebuilding machines from libvirt: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	if err := p.subscribe(wctx); err != nil {
		cancel()
		_ = lv.Disconnect()
		return nil, err
	}
	go p.run(wctx)
	p.log.Info("Libvirt provider started", "domainType", p.domType, "machines", len(p.machines), "root", root)
	return p, nil
}

// DomainType is the domain type in use (kvm or qemu).
func (p *Provider) DomainType() string { return p.domType }

// Close stops the worker, ends all watches and disconnects. Domains keep running.
func (p *Provider) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.watchers.Close()
	p.mu.Unlock()
	p.stop()
	<-p.stopped
	_ = p.lv.Disconnect()
}

// enqueue marks a machine for reconciliation.
func (p *Provider) enqueue(id string) {
	p.mu.Lock()
	p.dirty[id] = true
	p.mu.Unlock()
	select {
	case p.queue <- struct{}{}:
	default:
	}
}

func (p *Provider) enqueueAfter(id string, d time.Duration) {
	time.AfterFunc(d, func() { p.enqueue(id) })
}

// run is the reconcile worker: one at a time, so libvirt sees one change per domain at a time and at
// most one guest starts at once.
func (p *Provider) run(ctx context.Context) {
	defer close(p.stopped)
	resync := time.NewTicker(p.cfg.ResyncPeriod)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync.C:
			p.mu.Lock()
			for id := range p.machines {
				p.dirty[id] = true
			}
			p.mu.Unlock()
		case <-p.queue:
		}
		for {
			p.mu.Lock()
			var ids []string
			for id := range p.dirty {
				ids = append(ids, id)
			}
			clear(p.dirty)
			p.mu.Unlock()
			if len(ids) == 0 || ctx.Err() != nil {
				break
			}
			sort.Strings(ids)
			for _, id := range ids {
				if ctx.Err() != nil {
					return
				}
				p.reconcile(ctx, id)
			}
		}
	}
}

// subscribe turns libvirt's lifecycle events (a guest powering itself off, a crash, QEMU gone) into
// reconciles of the machine.
func (p *Provider) subscribe(ctx context.Context) error {
	// Not cancelled with ctx: when its context ends, go-libvirt shuts the event stream down before
	// it deregisters it, and an event arriving in between blocks its receive loop for good, and
	// with it every later call (a provider's Close hung 10 min in a full test run). Disconnect,
	// which Close calls, removes the stream safely and closes ch.
	ch, err := p.lv.LifecycleEvents(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("subscribing to libvirt lifecycle events: %w", err)
	}
	go func() {
		for ev := range ch {
			p.mu.Lock()
			_, ok := p.machines[ev.Dom.Name]
			p.mu.Unlock()
			if ok {
				p.enqueue(ev.Dom.Name)
			}
		}
	}()
	return nil
}

// sortedLocked returns the records ordered by creation time, then id.
func (p *Provider) sortedLocked() []*record {
	out := make([]*record, 0, len(p.machines))
	for _, r := range p.machines {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].obj.GetMetadata(), out[j].obj.GetMetadata()
		if a.GetCreatedAt() != b.GetCreatedAt() {
			return a.GetCreatedAt() < b.GetCreatedAt()
		}
		return a.GetId() < b.GetId()
	})
	return out
}

func (p *Provider) machineDir(id string) string { return machineDir(p.cfg.RootDir, id) }

func machineDir(rootDir, id string) string { return filepath.Join(rootDir, "machines", id) }

// ConsoleLog is the file the machine's serial console is logged to (appended across boots).
func (p *Provider) ConsoleLog(id string) string { return ConsoleLogPath(p.cfg.RootDir, id) }

// ConsoleLogPath is the serial console log of machine id of a provider with root directory rootDir.
func ConsoleLogPath(rootDir, id string) string {
	return filepath.Join(machineDir(rootDir, id), "console.log")
}

func (p *Provider) ignitionFile(id string) string { return filepath.Join(p.machineDir(id), "ignition") }

func isNotFound(err error) bool { return err != nil && golibvirt.IsNotFound(err) }

var errGone = errors.New("machine is gone")
