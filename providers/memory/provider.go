// Package memory is an in-memory IRI provider: machine, volume and bucket
// runtimes that keep everything in memory, with instant or delayed state
// transitions. It serves tests, demos and scale simulations; it holds 100k
// objects per kind comfortably.
//
// The domain (Machines, Volumes, Buckets over a generic Store) is usable
// without gRPC; MachineServer, VolumeServer and BucketServer are thin gRPC
// adapters that map domain errors to status codes in one place (toStatus).
package memory

import (
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"google.golang.org/grpc"

	"github.com/ironfed/ironfed/providers/internal/console"
)

// RuntimeName and RuntimeVersion are what Version reports.
const (
	RuntimeName    = "ironfed-memory"
	RuntimeVersion = "0.1.0"
)

// Provider holds the three runtimes. Each runtime has its own event log.
type Provider struct {
	Machines *Machines
	Volumes  *Volumes
	Buckets  *Buckets

	machineEvents, volumeEvents, bucketEvents *EventLog
	console                                   *console.Server
}

// New returns a provider for cfg (see DefaultConfig).
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Provider{
		machineEvents: NewEventLog(cfg.EventCapacity),
		volumeEvents:  NewEventLog(cfg.EventCapacity),
		bucketEvents:  NewEventLog(cfg.EventCapacity),
	}
	p.Machines = newMachines(cfg, p.machineEvents)
	p.console = newConsole(cfg.ExecBaseURL, p.Machines)
	p.Machines.exec = p.console.URL
	p.Volumes = newVolumes(cfg, p.volumeEvents)
	p.Buckets = newBuckets(cfg, p.bucketEvents)
	return p, nil
}

// MachineEvents, VolumeEvents and BucketEvents return each runtime's events.
func (p *Provider) MachineEvents() *EventLog { return p.machineEvents }
func (p *Provider) VolumeEvents() *EventLog  { return p.volumeEvents }
func (p *Provider) BucketEvents() *EventLog  { return p.bucketEvents }

// Close stops pending transitions and ends all watches (with Unavailable).
func (p *Provider) Close() {
	p.Machines.close()
	p.Volumes.close()
	p.Volumes.Snapshots.close()
	p.Buckets.close()
}

// MachineServer, VolumeServer and BucketServer return the gRPC services, to
// register with a grpc.Server. Their list and watch responses share the
// stores' immutable snapshots, which gRPC only marshals; in-process callers
// that want objects to keep or change use the domain types, which copy.
func (p *Provider) MachineServer() machinev1alpha1.MachineRuntimeServer {
	return &machineServer{m: p.Machines, events: p.machineEvents}
}

func (p *Provider) VolumeServer() volumev1alpha1.VolumeRuntimeServer {
	return &volumeServer{v: p.Volumes, events: p.volumeEvents}
}

// Register adds all three runtime services to s, for one socket serving machines, volumes and
// buckets.
func (p *Provider) Register(s *grpc.Server) {
	machinev1alpha1.RegisterMachineRuntimeServer(s, p.MachineServer())
	volumev1alpha1.RegisterVolumeRuntimeServer(s, p.VolumeServer())
	bucketv1alpha1.RegisterBucketRuntimeServer(s, p.BucketServer())
}

func (p *Provider) BucketServer() bucketv1alpha1.BucketRuntimeServer {
	return &bucketServer{b: p.Buckets, events: p.bucketEvents}
}
