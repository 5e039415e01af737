package memory

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/internal/console"
)

// consolePoll is how often a console session checks that its machine still
// exists (a deleted machine ends the session with an error).
const consolePoll = 100 * time.Millisecond

// newConsole serves the URLs Exec hands out with Kubernetes' remotecommand
// protocol. A memory machine has no guest: its console is a fake shell that
// greets, prompts and echoes each line typed, enough to prove a session
// reaches the right machine through every hop.
func newConsole(baseURL string, m *Machines) *console.Server {
	return console.New(baseURL, fakeConsole{m}, logr.Discard())
}

// ExecHandler serves the URLs Exec hands out.
func (p *Provider) ExecHandler() http.Handler { return p.console.Handler() }

type fakeConsole struct{ m *Machines }

// Check answers NotFound for a deleted machine and FailedPrecondition for one
// that does not run.
func (c fakeConsole) Check(id string) error { return c.m.checkRunning(id) }

func (m *Machines) checkRunning(id string) error {
	o, err := m.get(id)
	if err != nil {
		return err
	}
	if st := o.GetStatus().GetState(); st != machinev1alpha1.MachineState_MACHINE_RUNNING {
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "machine %s is %s, not running: its console opens once it runs", id, strings.TrimPrefix(st.String(), "MACHINE_"))
	}
	return nil
}

// Prompt is what the fake console prints before each line.
func Prompt(id string) string { return "memory:" + id[:min(8, len(id))] + "$ " }

// Attach runs the fake shell: with a terminal it echoes keystrokes as a line
// discipline would, and answers each line with the line itself.
func (c fakeConsole) Attach(ctx context.Context, s console.Session) error {
	id := s.Target
	nl := "\n"
	if s.TTY {
		nl = "\r\n"
	}
	if _, err := fmt.Fprintf(s.Stdout, "console of memory machine %s (echo)%s%s", id, nl, Prompt(id)); err != nil {
		return nil // the client went away
	}
	if s.Stdin == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gone := make(chan error, 1)
	go func() {
		t := time.NewTicker(consolePoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := c.m.get(id); err != nil {
					gone <- runtimeerr.Errorf(runtimeerr.KindNotFound, "machine %s was deleted: console closed", id)
					return
				}
			}
		}
	}()
	lines := make(chan error, 1)
	go func() { lines <- echoLines(s, nl) }()
	select {
	case err := <-lines:
		return err
	case err := <-gone:
		return err // the caller closes the streams, which ends echoLines
	case <-ctx.Done():
		return nil
	}
}

func echoLines(s console.Session, nl string) error {
	r := bufio.NewReader(s.Stdin)
	var line []byte
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // the client went away
		}
		var out string
		switch {
		case b == '\r' || b == '\n':
			if b == '\n' && s.TTY {
				continue // a terminal sends \r; \n after it adds nothing
			}
			out = nl + string(line) + nl + Prompt(s.Target)
			line = line[:0]
		case b == 0x7f || b == 0x08:
			if len(line) > 0 {
				line = line[:len(line)-1]
				if s.TTY {
					out = "\b \b"
				}
			}
		default:
			line = append(line, b)
			if s.TTY {
				out = string(b)
			}
		}
		if out != "" {
			if _, err := io.WriteString(s.Stdout, out); err != nil {
				return nil
			}
		}
	}
}
