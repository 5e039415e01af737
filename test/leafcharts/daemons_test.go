package leafcharts_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ironfed/ironfed/providers/ceph/localceph"
	"github.com/ironfed/ironfed/providers/libvirt/image"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// Environment make test sets (hack/make/libvirt.mk): the offline test guest and the registry binary.
const (
	guestEnv    = "IRONFED_LIBVIRT_GUEST"
	registryEnv = "IRONFED_REGISTRY_BIN"
)

// guestCommandLine boots the test guest with its console on the serial port the provider logs.
const guestCommandLine = "console=ttyS0 panic=-1 quiet"

// daemons are the host's leaf daemons the charted pods use, as on a real libvirt/Ceph host: a
// private libvirtd (its socket and the provider's root directory are hostPaths of the pod), a local
// OCI registry holding the test guest, and a one-node Ceph with RGW.
type daemons struct {
	dir      string
	libvirtd *localdaemon.Libvirtd
	registry *localdaemon.Registry
	ceph     *localceph.Cluster
	// imagePath is the guest image's repository:tag below the registry's host.
	imagePath string
	// startedIn is how long the start took; waits counts the times another Ceph held the host.
	startedIn time.Duration
	waits     int
}

// startDaemons starts libvirtd and Ceph (each host-wide, one at a time per machine), the registry
// and the guest image. providers/ceph/realceph holds Ceph's lock for its whole run and takes
// libvirtd's per test, so holding libvirtd while waiting for Ceph could deadlock with it: libvirtd
// (cheap to start) is taken first, Ceph is only tried briefly, and while another Ceph runs both are
// let go and tried again. stop undoes whatever was started.
func startDaemons(ctx context.Context, dir string) (*daemons, error) {
	guest, regBin := os.Getenv(guestEnv), os.Getenv(registryEnv)
	if guest == "" || regBin == "" {
		return nil, fmt.Errorf("$%s and $%s are not set: run make leaf-libvirt (make test sets them)", guestEnv, registryEnv)
	}
	begin := time.Now()
	deadline := begin.Add(20 * time.Minute)
	d := &daemons{dir: dir}
	var err error
	for {
		if d.libvirtd, err = localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: filepath.Join(dir, "libvirtd"), LockTimeout: time.Until(deadline)}); err != nil {
			return d, fmt.Errorf("libvirtd (make leaf-libvirt): %w", err)
		}
		d.ceph, err = localceph.Start(ctx, localceph.Options{Dir: filepath.Join(dir, "ceph"), LockTimeout: 10 * time.Second})
		if err == nil {
			break
		}
		stopErr := d.libvirtd.Stop()
		d.libvirtd, d.ceph = nil, nil
		d.waits++
		if stopErr != nil || !strings.Contains(err.Error(), "another one-node Ceph") || time.Now().After(deadline) {
			return d, errors.Join(fmt.Errorf("one-node Ceph (make ceph-prereqs): %w", err), stopErr)
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
	if d.registry, err = localdaemon.StartRegistry(ctx, localdaemon.RegistryOptions{Dir: filepath.Join(dir, "registry"), Binary: regBin}); err != nil {
		return d, err
	}
	d.imagePath = "ironfed/guest:" + filepath.Base(guest)
	src := image.Source{Kernel: filepath.Join(guest, "vmlinuz"), InitRAMFS: filepath.Join(guest, "initramfs.gz"), CommandLine: guestCommandLine}
	if _, err := image.Push(ctx, image.RegistryOptions{PlainHTTP: []string{d.registry.Host}}, d.registry.Host+"/"+d.imagePath, src); err != nil {
		return d, fmt.Errorf("pushing the test guest: %w", err)
	}
	d.startedIn = time.Since(begin)
	return d, nil
}

// stop removes the domains the charted provider left under rootDir (persistent definitions would
// come back with the next privileged libvirtd) and stops every daemon by pid.
func (d *daemons) stop(rootDir string) error {
	var errs []error
	if d.libvirtd != nil {
		ours := map[string]bool{}
		if entries, err := os.ReadDir(filepath.Join(rootDir, "machines")); err == nil {
			for _, e := range entries {
				ours[e.Name()] = true
			}
		}
		if len(ours) > 0 {
			errs = append(errs, d.libvirtd.DestroyDomains(func(name string) bool { return ours[name] }))
		}
		errs = append(errs, d.libvirtd.Stop())
	}
	if d.registry != nil {
		errs = append(errs, d.registry.Stop())
	}
	if d.ceph != nil {
		d.ceph.Stop()
	}
	return errors.Join(errs...)
}

// forward listens on addr:0 and copies every connection to target: the daemons answer on loopback,
// the pods reach the host only through the node's bridge address (in a real deployment RGW and the
// registry are network services). It returns host:port and a stop function.
func forward(t *testing.T, addr, target string) string {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	wg.Go(func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer in.Close()
				out, err := net.DialTimeout("tcp", target, 10*time.Second)
				if err != nil {
					return
				}
				defer out.Close()
				track(in, true)
				track(out, true)
				defer track(in, false)
				defer track(out, false)
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				<-done
			})
		}
	})
	t.Cleanup(func() {
		lis.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return lis.Addr().String()
}

// hostOf is the host part of a URL like https://10.250.1.1:6443.
func hostOf(url string) string {
	hp := url[strings.Index(url, "://")+3:]
	h, _, err := net.SplitHostPort(hp)
	if err != nil {
		return hp
	}
	return h
}
