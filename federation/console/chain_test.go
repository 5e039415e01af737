// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	apiconsole "github.com/ironfed/ironfed/federation/api/console"
	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/console"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/federation/topology"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/consoletest"
)

const wait5 = 10 * time.Second

type chain struct {
	fed  *localfed.Federation
	root client.Client
}

// up starts root → region → leaf with memory machines at the leaf.
func up(t *testing.T) *chain {
	t.Helper()
	if testing.Short() {
		t.Skip("needs real clusters: run make test")
	}
	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	top, err := topology.Parse([]byte(`clusters: [{name: root}, {name: region, parent: root}, {name: leaf, parent: region}]`))
	if err != nil {
		t.Fatal(err)
	}
	fed, err := localfed.Up(t.Context(), localfed.Options{Dir: t.TempDir(), Topology: top, CRDs: defs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Down() })
	return &chain{fed: fed, root: fed.Client("root")}
}

func (c *chain) machine(t *testing.T, name string, selector map[string]string) types.NamespacedName {
	t.Helper()
	m := &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "m-small"}, MachinePoolSelector: selector},
	}
	if err := c.root.Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return client.ObjectKeyFromObject(m)
}

// running waits until the root sees the machine Running and its pool
// advertises a console endpoint, and returns the leaf's machine id.
func (c *chain) running(t *testing.T, key types.NamespacedName) string {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := console.URL(ctx, c.root, console.Options{Machine: key})
		return err == nil, nil
	}); err != nil {
		_, err := console.URL(t.Context(), c.root, console.Options{Machine: key})
		t.Fatalf("machine %s never became reachable: %v", key, err)
	}
	// Every hop's pool advertises its poollet's console endpoint.
	for _, cl := range []string{"root", "region", "leaf"} {
		var pools computev1alpha1.MachinePoolList
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			if err := c.fed.Client(cl).List(ctx, &pools); err != nil {
				return false, nil
			}
			for _, p := range pools.Items {
				if p.Status.DaemonEndpoints.MachinepoolletEndpoint.Port == 0 {
					return false, nil
				}
			}
			return len(pools.Items) > 0, nil
		}); err != nil {
			t.Fatalf("pools of %s never advertised a console endpoint: %+v", cl, pools.Items)
		}
	}
	ms, err := c.fed.Providers["leaf"].Machines.List(memory.Filter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("leaf machines: %d (%v), want 1", len(ms), err)
	}
	return ms[0].GetMetadata().GetId()
}

// session opens a console at the root with cfg's identity.
func (c *chain) session(t *testing.T, cfg *rest.Config, key types.NamespacedName, proto consoletest.Protocol) (*consoletest.Session, error) {
	t.Helper()
	u, err := console.URL(t.Context(), c.root, console.Options{Machine: key})
	if err != nil {
		return nil, err
	}
	u.RawQuery = "input=1&output=1&tty=1"
	var e remotecommand.Executor
	if proto == "" {
		e, err = console.Executor(cfg, u, nil)
	} else {
		cc := rest.CopyConfig(cfg)
		cc.TLSClientConfig.CAData, cc.TLSClientConfig.CAFile, cc.TLSClientConfig.Insecure = nil, "", true
		e, err = consoletest.Executor(proto, cc, u.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	return consoletest.Start(t.Context(), e, true), nil
}

func settled(t *testing.T, base int) {
	t.Helper()
	// Every proxy hop runs in this process: none may still splice.
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		return apiconsole.ActiveSessions() == 0, nil
	}); err != nil {
		t.Errorf("%d proxied console sessions still open after every client ended", apiconsole.ActiveSessions())
	}
	// Sessions end asynchronously at every hop; the count must come back.
	var n int
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		n = runtime.NumGoroutine()
		return n <= base+30, nil
	}); err != nil {
		t.Errorf("goroutines did not settle after the sessions: %d now, %d before", n, base)
	}
}

// TestConsoleThroughChain types a line at the root and reads it back from
// the leaf's memory machine, through the root poollet, the root→region
// broker, the region poollet, the region→leaf broker, the leaf poollet and
// the memory provider; then the error paths.
func TestConsoleThroughChain(t *testing.T) {
	c := up(t)
	admin := c.fed.Config("root")
	key := c.machine(t, "con", nil)
	leafID := c.running(t, key)
	base := runtime.NumGoroutine()

	for _, proto := range []consoletest.Protocol{"", consoletest.WebSocket, consoletest.SPDY} {
		name := string(proto)
		if name == "" {
			name = "ironfed-console-executor"
		}
		t.Run("echo-"+name, func(t *testing.T) {
			s, err := c.session(t, admin, key, proto)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WaitFor("console of memory machine "+leafID, wait5); err != nil {
				t.Fatal(err)
			}
			line := "hello from the root over " + name
			if err := s.Type(line + "\r"); err != nil {
				t.Fatal(err)
			}
			if err := s.WaitFor("\r\n"+line+"\r\n"+memory.Prompt(leafID), wait5); err != nil {
				t.Fatal(err)
			}
			// Five hops splice this session: root poollet, root broker, region
			// poollet, region broker, leaf poollet.
			if n := apiconsole.ActiveSessions(); n < 5 {
				t.Errorf("%d proxied sessions while one console is open, want at least 5 hops", n)
			}
			if err := s.Close(wait5); err != nil {
				t.Fatalf("session end: %v", err)
			}
		})
	}

	// The root broker's IRI Exec URL, used as upstream irictl exec does:
	// client-go's executors against the URL; single use.
	t.Run("iri-exec-url", func(t *testing.T) {
		conn, err := remote.Dial(t.Context(), "unix://"+c.fed.BrokerSocket("root", "region", "machine"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rt := machinev1alpha1.NewMachineRuntimeClient(conn)
		m := &computev1alpha1.Machine{}
		if err := c.root.Get(t.Context(), key, m); err != nil {
			t.Fatal(err)
		}
		list, err := rt.ListMachines(t.Context(), &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{labels.MachineUIDLabel: string(m.UID)}}})
		if err != nil || len(list.GetMachines()) != 1 {
			t.Fatalf("root broker machines of %s: %v %v", key, list, err)
		}
		if _, err := rt.Exec(t.Context(), &machinev1alpha1.ExecRequest{MachineId: strings.Repeat("0", 63)}); status.Code(err) != codes.NotFound {
			t.Errorf("Exec of an unknown machine: %v, want NotFound", err)
		}
		for _, proto := range []consoletest.Protocol{consoletest.SPDY, consoletest.WebSocket} {
			resp, err := rt.Exec(t.Context(), &machinev1alpha1.ExecRequest{MachineId: list.GetMachines()[0].GetMetadata().GetId()})
			if err != nil {
				t.Fatal(err)
			}
			use := func() (*consoletest.Session, error) {
				e, err := consoletest.Executor(proto, nil, resp.GetUrl())
				if err != nil {
					t.Fatal(err)
				}
				s := consoletest.Start(t.Context(), e, true)
				return s, s.WaitFor(memory.Prompt(leafID), wait5)
			}
			s, err := use()
			if err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			_ = s.Type("via the IRI URL\r")
			if err := s.WaitFor("\r\nvia the IRI URL\r\n", wait5); err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			if err := s.Close(wait5); err != nil {
				t.Fatalf("%s: session end: %v", proto, err)
			}
			if _, err := use(); err == nil || !strings.Contains(err.Error(), "exec token already used") {
				t.Errorf("%s: reusing the broker's URL: %v, want 'already used'", proto, err)
			}
		}
	})

	// ironfed console's own path, on a pipe: a line, then the escape detaches.
	t.Run("run-terminal-pipe", func(t *testing.T) {
		inR, inW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer inR.Close()
		out := &lockedBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- console.RunTerminal(t.Context(), c.root, console.Options{Config: admin, Machine: key}, inR, out, io.Discard)
		}()
		_, _ = inW.WriteString("typed at the root\n")
		if err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, wait5, true, func(context.Context) (bool, error) {
			return strings.Contains(out.String(), "\ntyped at the root\n"+memory.Prompt(leafID)), nil
		}); err != nil {
			t.Fatalf("no echo from the leaf; output %q", out.String())
		}
		_, _ = inW.Write([]byte{console.Escape})
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("detach: %v", err)
			}
		case <-time.After(wait5):
			t.Fatal("Ctrl-] did not detach")
		}
		_ = inW.Close()
	})

	t.Run("20-concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			proto := []consoletest.Protocol{consoletest.WebSocket, consoletest.SPDY}[i%2]
			wg.Go(func() {
				s, err := c.session(t, admin, key, proto)
				if err != nil {
					errs <- err
					return
				}
				line := fmt.Sprintf("session-%02d", i)
				if err := s.WaitFor(memory.Prompt(leafID), wait5); err != nil {
					errs <- err
					return
				}
				_ = s.Type(line + "\r")
				if err := s.WaitFor("\r\n"+line+"\r\n", wait5); err != nil {
					errs <- err
				}
				if err := s.Close(wait5); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	settled(t, base)

	t.Run("rbac-decides", func(t *testing.T) {
		cfg := c.serviceAccount(t, "viewer")
		s, err := c.session(t, cfg, key, "")
		if err != nil {
			t.Fatal(err)
		}
		err = s.Wait(wait5)
		if err == nil || !strings.Contains(err.Error(), `user "system:serviceaccount:default:viewer" may not open the console of machine default/con`) {
			t.Fatalf("console without machines/exec: %v, want a SubjectAccessReview denial", err)
		}
		c.grantExec(t, "viewer")
		if err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			s, err := c.session(t, cfg, key, "")
			if err != nil {
				return false, err
			}
			if s.WaitFor(memory.Prompt(leafID), wait5) != nil {
				_ = s.Close(wait5)
				return false, nil
			}
			return true, s.Close(wait5)
		}); err != nil {
			t.Fatalf("console after granting machines/exec: %v", err)
		}
	})

	t.Run("not-running", func(t *testing.T) {
		pending := c.machine(t, "nowhere", map[string]string{"zone": "none"})
		_, err := console.URL(t.Context(), c.root, console.Options{Machine: pending})
		if err == nil || !strings.Contains(err.Error(), "root cluster: machine default/nowhere is not Running") {
			t.Fatalf("console of an unscheduled machine: %v", err)
		}
	})

	t.Run("deleted-mid-session", func(t *testing.T) {
		gone := c.machine(t, "gone", nil)
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := console.URL(ctx, c.root, console.Options{Machine: gone})
			return err == nil, nil
		}); err != nil {
			t.Fatal("machine default/gone never ran")
		}
		s, err := c.session(t, admin, gone, consoletest.WebSocket)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WaitFor("console of memory machine ", wait5); err != nil {
			t.Fatal(err)
		}
		if err := c.root.Delete(t.Context(), &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: gone.Namespace, Name: gone.Name}}); err != nil {
			t.Fatal(err)
		}
		err = s.Wait(time.Minute)
		if err == nil || !strings.Contains(err.Error(), " was deleted: console closed") {
			t.Fatalf("session after deleting the machine: %v, want the leaf's 'was deleted'", err)
		}
		_ = s.Close(wait5)
	})
	settled(t, base)

	// The leaf's apiserver crashes: the region→leaf broker's probes mark it
	// unreachable and the console fails fast, naming the pool and the cause.
	t.Run("level-unreachable", func(t *testing.T) {
		leaf := c.fed.Cluster("leaf")
		if err := leaf.APIServer.Kill(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if leaf.APIServer.PID() == 0 {
				_ = leaf.APIServer.Start(context.Background())
			}
		})
		var last error
		if err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			s, err := c.session(t, admin, key, consoletest.WebSocket)
			if err != nil {
				last = err
				return false, nil
			}
			last = s.Wait(wait5)
			_ = s.Close(wait5)
			return last != nil && strings.Contains(last.Error(), "pool leaf: runtime Exec: console of machine") && strings.Contains(last.Error(), "in downstream cluster leaf: downstream cluster") && strings.Contains(last.Error(), "unreachable"), nil
		}); err != nil {
			t.Fatalf("console with the leaf down: %v, want Unavailable from the region→leaf broker naming pool leaf", last)
		}
		t.Logf("with the leaf down: %v", last)
	})
	settled(t, base)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (c *chain) serviceAccount(t *testing.T, name string) *rest.Config {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(c.fed.Config("root"))
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(t.Context(), name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(c.fed.Config("root"))
	cfg.BearerToken = tr.Status.Token
	return cfg
}

func (c *chain) grantExec(t *testing.T, sa string) {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(c.fed.Config("root"))
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "console"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"compute.ironcore.dev"}, Resources: []string{"machines/exec"}, Verbs: []string{"create"}}}}
	if _, err := cs.RbacV1().Roles("default").Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "console"}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "console"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: "default"}}}
	if _, err := cs.RbacV1().RoleBindings("default").Create(t.Context(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
