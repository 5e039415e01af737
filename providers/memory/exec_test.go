package memory

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/test/consoletest"
)

const wait = 5 * time.Second

// noLeaks fails t if goroutines started during it outlive its cleanups.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// execProvider returns a provider whose exec server listens on loopback.
func execProvider(t *testing.T) *Provider {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, func(c *Config) { c.ExecBaseURL = "http://" + lis.Addr().String() })
	srv := &http.Server{Handler: p.ExecHandler(), ReadHeaderTimeout: wait}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func runningMachine(t *testing.T, p *Provider) string {
	t.Helper()
	m, err := p.Machines.Create(newMachine("m-small", nil))
	if err != nil {
		t.Fatal(err)
	}
	return m.Metadata.Id
}

func open(t *testing.T, p *Provider, proto consoletest.Protocol, id string, tty bool) *consoletest.Session {
	t.Helper()
	url, err := p.Machines.Exec(id)
	if err != nil {
		t.Fatal(err)
	}
	e, err := consoletest.Executor(proto, nil, consoletest.WithQuery(url, tty))
	if err != nil {
		t.Fatal(err)
	}
	return consoletest.Start(context.Background(), e, tty)
}

func TestExecUnsupportedWithoutServer(t *testing.T) {
	p := newProvider(t, nil)
	_, err := p.Machines.Exec(runningMachine(t, p))
	wantKind(t, err, runtimeerr.ErrUnsupported)
}

func TestExecErrors(t *testing.T) {
	p := execProvider(t)
	_, err := p.Machines.Exec(strings.Repeat("0", IDLength))
	wantKind(t, err, runtimeerr.ErrNotFound)
	p2 := newProvider(t, func(c *Config) { c.StateDelay.Duration = time.Hour; c.ExecBaseURL = "http://x" })
	_, err = p2.Machines.Exec(runningMachine(t, p2))
	wantKind(t, err, runtimeerr.ErrFailedPrecondition)
}

// TestConsoleClientGo runs client-go's own executors, as kubectl and
// upstream irictl do, against the fake console: a typed line comes back.
func TestConsoleClientGo(t *testing.T) {
	noLeaks(t)
	p := execProvider(t)
	id := runningMachine(t, p)
	for _, proto := range []consoletest.Protocol{consoletest.SPDY, consoletest.WebSocket} {
		for _, tty := range []bool{true, false} {
			t.Run(string(proto)+map[bool]string{true: "-tty", false: ""}[tty], func(t *testing.T) {
				s := open(t, p, proto, id, tty)
				if err := s.WaitFor(Prompt(id), wait); err != nil {
					t.Fatal(err)
				}
				nl, enter := "\n", "\n"
				if tty {
					nl, enter = "\r\n", "\r"
				}
				if err := s.Type("hello from " + string(proto) + enter); err != nil {
					t.Fatal(err)
				}
				if err := s.WaitFor(nl+"hello from "+string(proto)+nl+Prompt(id), wait); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(wait); err != nil {
					t.Fatalf("session end: %v", err)
				}
			})
		}
	}
}

func TestConsoleTokens(t *testing.T) {
	noLeaks(t)
	p := execProvider(t)
	id := runningMachine(t, p)
	for _, proto := range []consoletest.Protocol{consoletest.SPDY, consoletest.WebSocket} {
		url, err := p.Machines.Exec(id)
		if err != nil {
			t.Fatal(err)
		}
		use := func() error {
			e, err := consoletest.Executor(proto, nil, url)
			if err != nil {
				t.Fatal(err)
			}
			s := consoletest.Start(context.Background(), e, true)
			if err := s.WaitFor(Prompt(id), wait); err != nil {
				return s.Wait(wait)
			}
			return s.Close(wait)
		}
		if err := use(); err != nil {
			t.Fatalf("%s: first use: %v", proto, err)
		}
		if err := use(); err == nil || !strings.Contains(err.Error(), "already used") {
			t.Errorf("%s: reused token: %v, want 'already used'", proto, err)
		}
		if err := func() error { url = url[:len(url)-4] + "0000"; return use() }(); err == nil || !strings.Contains(err.Error(), "unknown exec token") {
			t.Errorf("%s: forged token: %v, want 'unknown exec token'", proto, err)
		}
		url, _ = p.Machines.Exec(id)
		p.console.Tokens.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
		if err := use(); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("%s: expired token: %v, want 'expired'", proto, err)
		}
		p.console.Tokens.SetClock(time.Now)
	}
}

func TestConsoleMachineDeleted(t *testing.T) {
	noLeaks(t)
	p := execProvider(t)
	for _, proto := range []consoletest.Protocol{consoletest.SPDY, consoletest.WebSocket} {
		id := runningMachine(t, p)
		s := open(t, p, proto, id, true)
		if err := s.WaitFor(Prompt(id), wait); err != nil {
			t.Fatal(err)
		}
		if err := p.Machines.Delete(id); err != nil {
			t.Fatal(err)
		}
		err := s.Wait(wait)
		if err == nil || !strings.Contains(err.Error(), "machine "+id+" was deleted") {
			t.Errorf("%s: session after delete: %v, want 'was deleted'", proto, err)
		}
		_ = s.Close(wait)
	}
}

func TestConsoleConcurrent(t *testing.T) {
	noLeaks(t)
	p := execProvider(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		id := runningMachine(t, p)
		proto := []consoletest.Protocol{consoletest.SPDY, consoletest.WebSocket}[i%2]
		s := open(t, p, proto, id, true)
		wg.Go(func() {
			line := "line-" + id
			if err := s.WaitFor(Prompt(id), wait); err != nil {
				errs <- err
				return
			}
			if err := s.Type(line + "\r"); err != nil {
				errs <- err
				return
			}
			if err := s.WaitFor("\r\n"+line+"\r\n", wait); err != nil {
				errs <- err
				return
			}
			if err := s.Close(wait); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
