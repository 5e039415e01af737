package libvirt

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// execTokenTTL bounds how long an Exec URL stays usable.
const execTokenTTL = time.Minute

// execTokens hands out one-time tokens: Exec returns <base>/exec/<token>, ExecHandler redeems it.
type execTokens struct {
	baseURL string
	mu      sync.Mutex
	tokens  map[string]execToken
}

type execToken struct {
	machineID string
	expires   time.Time
}

func newExecTokens(baseURL string) *execTokens {
	return &execTokens{baseURL: baseURL, tokens: map[string]execToken{}}
}

func (t *execTokens) issue(id string) (string, error) {
	if t.baseURL == "" {
		return "", runtimeerr.Errorf(runtimeerr.KindUnsupported, "Exec is not available: this provider runs without an exec server (start it with --exec-bind-address)")
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.tokens {
		if now.After(v.expires) {
			delete(t.tokens, k)
		}
	}
	t.tokens[token] = execToken{machineID: id, expires: now.Add(execTokenTTL)}
	return t.baseURL + "/exec/" + token, nil
}

func (t *execTokens) redeem(token string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.tokens[token]
	delete(t.tokens, token)
	return v.machineID, ok && time.Now().Before(v.expires)
}

// Exec returns a one-time URL (valid for a minute) of the machine's serial console.
func (p *Provider) Exec(id string) (string, error) {
	if _, err := p.Get(id); err != nil {
		return "", err
	}
	return p.exec.issue(id)
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

// ExecHandler serves the URLs Exec hands out. It speaks plain full-duplex HTTP/1.1: the request body
// is written to the guest's serial console, the response body streams what the console prints, until
// either side closes (e.g. `curl -sN -T - <url>`). It is a raw byte stream, not Kubernetes'
// remotecommand (SPDY/WebSocket) protocol.
func (p *Provider) ExecHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{token}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := p.exec.redeem(r.PathValue("token"))
		if !ok {
			http.Error(w, "unknown or expired exec token; call Exec again for a new URL", http.StatusNotFound)
			return
		}
		path, err := p.ConsolePTY(id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		pty, err := openRawPTY(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer pty.Close()
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(pty, r.Body)
		}()
		buf := make([]byte, 4096)
		for {
			_ = pty.SetReadDeadline(time.Now().Add(time.Second))
			n, err := pty.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				_ = rc.Flush()
			}
			if err != nil && !os.IsTimeout(err) {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-done:
				return
			default:
			}
		}
	})
	return mux
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
