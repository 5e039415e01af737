package memory

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// handler decodes a request from bytes and calls one RPC handler. The
// placeholder id "@" in an id field is replaced with an existing object's id
// so the fuzzer also reaches the code past the lookup.
type handler func(ctx context.Context, data []byte, id string) error

func fuzzHandlers(p *Provider) []handler {
	ms, vs, bs := p.MachineServer(), p.VolumeServer(), p.BucketServer()
	fix := func(s *string, id string) {
		if *s == "@" {
			*s = id
		}
	}
	return []handler{
		func(ctx context.Context, b []byte, _ string) error {
			var r machinev1alpha1.CreateMachineRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			_, err := ms.CreateMachine(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, id string) error {
			var r machinev1alpha1.AttachVolumeRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			fix(&r.MachineId, id)
			_, err := ms.AttachVolume(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, id string) error {
			var r machinev1alpha1.UpdateVolumeRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			fix(&r.MachineId, id)
			_, err := ms.UpdateVolume(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, id string) error {
			var r machinev1alpha1.UpdateMachinePowerRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			fix(&r.MachineId, id)
			_, err := ms.UpdateMachinePower(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, _ string) error {
			var r machinev1alpha1.ListMachinesRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			_, err := ms.ListMachines(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, _ string) error {
			var r volumev1alpha1.CreateVolumeRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			_, err := vs.CreateVolume(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, _ string) error {
			var r volumev1alpha1.ExpandVolumeRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			_, err := vs.ExpandVolume(ctx, &r)
			return err
		},
		func(ctx context.Context, b []byte, _ string) error {
			var r bucketv1alpha1.CreateBucketRequest
			if proto.Unmarshal(b, &r) != nil {
				return nil
			}
			_, err := bs.CreateBucket(ctx, &r)
			return err
		},
	}
}

var allowedCodes = map[codes.Code]bool{
	codes.InvalidArgument: true, codes.NotFound: true, codes.AlreadyExists: true,
	codes.ResourceExhausted: true, codes.FailedPrecondition: true,
}

func FuzzHandlers(f *testing.F) {
	seed := func(op byte, m proto.Message) {
		b, _ := proto.Marshal(m)
		f.Add(op, b)
	}
	disk := &machinev1alpha1.Volume{Name: "root", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 1}}
	seed(0, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("m-small", map[string]string{"a": "b"})})
	seed(0, &machinev1alpha1.CreateMachineRequest{Machine: &machinev1alpha1.Machine{Spec: &machinev1alpha1.MachineSpec{Class: "m-small", Volumes: []*machinev1alpha1.Volume{disk, {Name: "x"}}}}})
	seed(1, &machinev1alpha1.AttachVolumeRequest{MachineId: "@", Volume: disk})
	seed(1, &machinev1alpha1.AttachVolumeRequest{MachineId: "@"})
	seed(2, &machinev1alpha1.UpdateVolumeRequest{MachineId: "@", Volume: &machinev1alpha1.Volume{Name: "root", Connection: &machinev1alpha1.VolumeConnection{}}})
	seed(3, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: "@", Power: 42})
	seed(4, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: "ZZ"}})
	seed(5, &volumev1alpha1.CreateVolumeRequest{Volume: newVolume("fast", -1)})
	seed(6, &volumev1alpha1.ExpandVolumeRequest{VolumeId: "x", Resources: &volumev1alpha1.VolumeResources{StorageBytes: -5}})
	seed(7, &bucketv1alpha1.CreateBucketRequest{Bucket: &bucketv1alpha1.Bucket{Spec: &bucketv1alpha1.BucketSpec{}}})
	f.Add(byte(0), []byte{0xff, 0x00, 0x12})

	p := newProvider(f, func(c *Config) { c.MachineClasses[0].Capacity = 1 << 20 })
	existing, err := p.Machines.Create(newMachine("m-small", nil))
	if err != nil {
		f.Fatal(err)
	}
	handlers := fuzzHandlers(p)
	f.Fuzz(func(t *testing.T, op byte, data []byte) {
		err := handlers[int(op)%len(handlers)](context.Background(), data, existing.Metadata.Id)
		if err == nil {
			return
		}
		st, ok := status.FromError(err)
		if !ok || !allowedCodes[st.Code()] || st.Message() == "" {
			t.Fatalf("handler %d answered %v; want a status with a client-error code and a message", int(op)%len(handlers), err)
		}
	})
}
