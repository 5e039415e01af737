package localdaemon_test

import (
	"context"
	"os"
	"testing"

	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// TestRegistry starts the local registry (IRONFED_REGISTRY_BIN, from hack/leaf-libvirt.sh) and stops it.
func TestRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the registry; runs without -short")
	}
	r := StartTestRegistry(t)
	if r.Host == "" {
		t.Fatal("no host")
	}
}

// StartTestRegistry starts a registry for the test and stops it at cleanup.
func StartTestRegistry(t *testing.T) *localdaemon.Registry {
	t.Helper()
	bin := os.Getenv("IRONFED_REGISTRY_BIN")
	if bin == "" {
		t.Fatal("IRONFED_REGISTRY_BIN is not set: run `make test`, or hack/leaf-libvirt.sh and export what it prints")
	}
	r, err := localdaemon.StartRegistry(context.Background(), localdaemon.RegistryOptions{Dir: t.TempDir(), Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}
