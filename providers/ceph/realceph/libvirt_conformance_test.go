// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package realceph

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/ironfed/ironfed/federation/localfed/realleaf"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
)

// TestLibvirtVolumeConformance runs the IRI conformance cases that attach remote volumes to
// machines against the libvirt provider with real RBD volumes of the Ceph volume runtime (their
// cephx access included), so QEMU really opens, grows and detaches them. providers/libvirt's own
// conformance run skips attach-detach-volume: no Ceph runs there. No guest boots (the suite's
// machines have no image).
func TestLibvirtVolumeConformance(t *testing.T) {
	needCluster(t)
	guest, registry := os.Getenv("IRONFED_LIBVIRT_GUEST"), os.Getenv("IRONFED_REGISTRY_BIN")
	if guest == "" || registry == "" {
		t.Fatal("IRONFED_LIBVIRT_GUEST and IRONFED_REGISTRY_BIN are not set: run `make test`, or hack/leaf-libvirt.sh and export what it prints")
	}
	dir, err := os.MkdirTemp("", "ironfed-realleaf-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	volumes, conn := openVolumes(t)
	var mu sync.Mutex
	made := map[string]*volumev1alpha1.Volume{}
	// Registered before the leaf starts, so it runs after the leaf stopped (no QEMU holds them).
	t.Cleanup(func() {
		for _, v := range made {
			if err := volumes.Delete(context.Background(), v.GetMetadata().GetId()); err != nil {
				t.Errorf("deleting volume %s: %v", v.GetMetadata().GetId(), err)
			}
		}
	})
	leaves, err := realleaf.Start(t.Context(), realleaf.Options{
		Dir: dir, Libvirt: &realleaf.LibvirtOptions{GuestDir: guest, RegistryBinary: registry}, Log: testr.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := leaves.Stop(); err != nil {
			t.Errorf("stopping the libvirt leaf: %v", err)
		}
	})

	// One real volume per name, its image grown in Ceph first when a case asks for more (as the
	// volume runtime would before the machinepoollet's UpdateVolume; directly, because the suite's
	// 2 GiB exceed what the 2 GiB memstore OSD lets the runtime promise, and RBD images are thin).
	volume := func(ctx context.Context, name string, size int64) (*machinev1alpha1.VolumeConnection, error) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := made[name]
		if !ok {
			var err error
			v, err = volumes.Create(ctx, &volumev1alpha1.Volume{
				Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": t.Name()}},
				Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: size}},
			})
			if err != nil {
				return nil, err
			}
			made[name] = v
		} else if _, image, _ := strings.Cut(v.GetStatus().GetAccess().GetHandle(), "/"); image == "" {
			return nil, fmt.Errorf("volume %s has no pool/image handle", name)
		} else if err := conn.Resize(ctx, image, uint64(size)); err != nil {
			return nil, err
		}
		a := v.GetStatus().GetAccess()
		return &machinev1alpha1.VolumeConnection{Driver: a.GetDriver(), Handle: a.GetHandle(), Attributes: a.GetAttributes(),
			SecretData: a.GetSecretData(), EffectiveStorageBytes: size}, nil
	}
	rep := conformance.RunTests(t, conformance.Config{
		MachineEndpoint: leaves.Runtimes["machine"],
		Focus:           "^machine/(attach-detach-volume|create-with-volumes-and-network-interfaces)$",
		MachineVolume:   volume,
		WaitTimeout:     90 * time.Second,
		PollInterval:    200 * time.Millisecond,
	})
	if rep.Passed != 2 || rep.Skipped > 0 {
		t.Errorf("want the 2 volume cases passed, got %s", rep.Totals())
	}
	t.Log(rep.Totals())
}
