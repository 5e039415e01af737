package libvirt

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/internal/console"
)

// Exec returns a one-time URL (valid for a minute) of the machine's serial console.
func (p *Provider) Exec(id string) (string, error) {
	if _, err := p.Get(id); err != nil {
		return "", err
	}
	return p.console.URL(id)
}

// ConsolePTY is the host pty of the running machine's serial console.
func (p *Provider) ConsolePTY(id string) (string, error) {
	if _, err := p.Get(id); err != nil {
		return "", err
	}
	dom, err := p.lv.DomainLookupByName(id)
	if err != nil {
		return "", runtimeerr.Errorf(runtimeerr.KindUnavailable, "looking up domain %s: %v", id, err)
	}
	x, err := p.liveXML(dom)
	if err != nil {
		return "", runtimeerr.Errorf(runtimeerr.KindUnavailable, "reading domain %s: %v", id, err)
	}
	for _, s := range x.Devices.Serials {
		if s.Source != nil && s.Source.Pty != nil && s.Source.Pty.Path != "" {
			return s.Source.Pty.Path, nil
		}
	}
	return "", runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "machine %s is not running: its console has no pty", id)
}

// ExecHandler serves the URLs Exec hands out with Kubernetes' remotecommand protocol (SPDY and
// WebSocket, as kubelet): a session is attached to the guest's serial console.
func (p *Provider) ExecHandler() http.Handler { return p.console.Handler() }

// ptyConsole attaches sessions to a domain's serial console pty.
type ptyConsole struct{ p *Provider }

func (c ptyConsole) Check(id string) error {
	_, err := c.p.ConsolePTY(id)
	return err
}

func (c ptyConsole) Attach(ctx context.Context, s console.Session) error {
	path, err := c.p.ConsolePTY(s.Target)
	if err != nil {
		return err
	}
	pty, err := openRawPTY(path)
	if err != nil {
		return err
	}
	defer pty.Close()
	done := make(chan struct{})
	if s.Stdin != nil {
		go func() {
			defer close(done)
			_, _ = io.Copy(pty, s.Stdin)
		}()
	}
	buf := make([]byte, 4096)
	for {
		_ = pty.SetReadDeadline(time.Now().Add(time.Second))
		n, err := pty.Read(buf)
		if n > 0 {
			if _, werr := s.Stdout.Write(buf[:n]); werr != nil {
				return nil // the client went away
			}
		}
		if err != nil && !os.IsTimeout(err) {
			return runtimeerr.Errorf(runtimeerr.KindUnavailable, "console of machine %s closed: the guest stopped or the machine was deleted (%v)", s.Target, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return nil
		default:
		}
	}
}

// openRawPTY opens the console pty in raw mode, so the line discipline neither echoes the guest's
// output back into it nor rewrites bytes.
func openRawPTY(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening console %s: %w", path, err)
	}
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
	}
	return f, nil
}
