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
// OCI registry holding the test guest, and a one-node Ceph with cephx and RGW on the node bridge's
// address.
type daemons struct {
	dir      string
	libvirtd *localdaemon.Libvirtd
	registry *localdaemon.Registry
	ceph     *localceph.Cluster
	// imagePath is the guest image's repository:tag below the registry's host.
	imagePath string
	// startedIn is how long the start took, cephIn Ceph's part of it once the bridge was up,
	// cephStoppedIn how long Ceph's stop took.
	startedIn, cephIn, cephStoppedIn time.Duration
}

// startDaemons starts libvirtd (host-wide, one at a time per machine), the registry with the guest
// image and, once bridge delivers the node bridge's address, a one-node Ceph bound to it: RADOS
// clients reach the monitor and the OSD at the addresses of the cluster maps, so a pod's client
// needs them on an address the pod reaches, not on the host's loopback (a forward would not do).
// That Ceph has a lock of its own address: it never waits for the loopback one of
// providers/ceph/realceph. Closing giveUp ends the wait for the bridge. stop undoes whatever was
// started.
func startDaemons(ctx context.Context, dir string, bridge <-chan string, giveUp <-chan struct{}) (*daemons, error) {
	guest, regBin := os.Getenv(guestEnv), os.Getenv(registryEnv)
	if guest == "" || regBin == "" {
		return nil, fmt.Errorf("$%s and $%s are not set: run make leaf-libvirt (make test sets them)", guestEnv, registryEnv)
	}
	begin := time.Now()
	d := &daemons{dir: dir}
	var cephErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case addr := <-bridge:
			t := time.Now()
			d.ceph, cephErr = localceph.Start(ctx, localceph.Options{Dir: filepath.Join(dir, "ceph"), Address: addr, Cephx: true,
				// It stops after the node's teardown has deleted the bridge: radosgw would
				// wait out any grace.
				StopGrace: 2 * time.Second})
			d.cephIn = time.Since(t)
			if cephErr != nil {
				cephErr = fmt.Errorf("one-node Ceph on %s (make ceph-prereqs): %w", addr, cephErr)
			}
		case <-giveUp:
			cephErr = errors.New("the node bridge never came up: no Ceph started")
		}
	})
	err := d.startLibvirtAndRegistry(ctx, guest, regBin)
	wg.Wait()
	d.startedIn = time.Since(begin)
	return d, errors.Join(err, cephErr)
}

func (d *daemons) startLibvirtAndRegistry(ctx context.Context, guest, regBin string) error {
	var err error
	if d.libvirtd, err = localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: filepath.Join(d.dir, "libvirtd"), LockTimeout: 20 * time.Minute}); err != nil {
		return fmt.Errorf("libvirtd (make leaf-libvirt): %w", err)
	}
	if d.registry, err = localdaemon.StartRegistry(ctx, localdaemon.RegistryOptions{Dir: filepath.Join(d.dir, "registry"), Binary: regBin}); err != nil {
		return err
	}
	d.imagePath = "ironfed/guest:" + filepath.Base(guest)
	src := image.Source{Kernel: filepath.Join(guest, "vmlinuz"), InitRAMFS: filepath.Join(guest, "initramfs.gz"), CommandLine: guestCommandLine}
	if _, err := image.Push(ctx, image.RegistryOptions{PlainHTTP: []string{d.registry.Host}}, d.registry.Host+"/"+d.imagePath, src); err != nil {
		return fmt.Errorf("pushing the test guest: %w", err)
	}
	return nil
}

// stop removes the domains the charted provider left under rootDir (persistent definitions would
// come back with the next privileged libvirtd) and stops every daemon by pid, Ceph meanwhile.
func (d *daemons) stop(rootDir string) error {
	var cephStopped sync.WaitGroup
	if d.ceph != nil {
		cephStopped.Go(func() {
			t := time.Now()
			d.ceph.Stop()
			d.cephStoppedIn = time.Since(t)
		})
	}
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
	cephStopped.Wait()
	return errors.Join(errs...)
}

// forward listens on addr:0 and copies every connection to target: the registry answers on
// loopback, the pods reach the host only through the node's bridge address (in a real deployment
// the registry is a network service). It returns host:port.
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
