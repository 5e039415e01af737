package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/federation/localfed/realleaf"
)

// leafOptions are the flags of `ironfed up`'s real-leaf mode.
type leafOptions struct {
	kinds          []string
	guestDir       string
	registryBinary string
}

func (o *leafOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.kinds, "leaf", nil, "Real leaf providers instead of the memory provider: libvirt (machines: private libvirtd, QEMU guests), "+
		"ceph (volumes and buckets: one-node Ceph). Both: --leaf libvirt,ceph. Prerequisites: make leaf-libvirt ceph-prereqs (as root); make run-leaf does it all.")
	fs.StringVar(&o.guestDir, "libvirt-guest-dir", os.Getenv("IRONFED_LIBVIRT_GUEST"), "Test guest (vmlinuz, initramfs.gz) for --leaf libvirt; hack/leaf-libvirt.sh prints it. Default $IRONFED_LIBVIRT_GUEST.")
	fs.StringVar(&o.registryBinary, "registry-binary", os.Getenv("IRONFED_REGISTRY_BIN"), "OCI registry binary for --leaf libvirt; hack/leaf-libvirt.sh prints it. Default $IRONFED_REGISTRY_BIN.")
}

func (o *leafOptions) options(dir, binDir string, log logr.Logger) (realleaf.Options, error) {
	ro := realleaf.Options{Dir: filepath.Join(dir, "leaves"), Log: log, Progress: os.Stdout, BinDir: binDir}
	for _, k := range o.kinds {
		switch strings.TrimSpace(k) {
		case realleaf.Libvirt:
			if o.guestDir == "" || o.registryBinary == "" {
				return ro, errors.New("--leaf libvirt needs the test guest and the registry binary: run `make run-leaf`, " +
					"or `make leaf-libvirt` and pass --libvirt-guest-dir and --registry-binary (or export what hack/leaf-libvirt.sh prints)")
			}
			ro.Libvirt = &realleaf.LibvirtOptions{GuestDir: o.guestDir, RegistryBinary: o.registryBinary}
		case realleaf.Ceph:
			ro.Ceph = &realleaf.CephOptions{}
		default:
			return ro, fmt.Errorf("--leaf %q: want libvirt, ceph or both (libvirt,ceph)", k)
		}
	}
	return ro, nil
}

// start starts the real leaves asked for; nil when --leaf is not given. With binDir their
// providers are processes for the federation to run (Leaves.Processes).
func (o *leafOptions) start(ctx context.Context, dir, binDir string, log logr.Logger) (*realleaf.Leaves, error) {
	if len(o.kinds) == 0 {
		return nil, nil
	}
	ro, err := o.options(dir, binDir, log)
	if err != nil {
		return nil, err
	}
	leaves, err := realleaf.Start(ctx, ro)
	if err != nil {
		return nil, fmt.Errorf("real leaves (--leaf %s): %w", strings.Join(o.kinds, ","), err)
	}
	return leaves, nil
}

// printLeafSteps writes the leaves' example manifest next to the state and says how to use it.
func printLeafSteps(leaves *realleaf.Leaves, dir, kubectl string) error {
	manifest := filepath.Join(dir, "leaves", "vm.yaml")
	if err := os.WriteFile(manifest, []byte(leaves.Manifest()), 0o644); err != nil {
		return err
	}
	leaves.PrintNextSteps(os.Stdout, manifest, kubectl)
	return nil
}
