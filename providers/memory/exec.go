package memory

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// execTokenTTL bounds how long an Exec URL stays usable.
const execTokenTTL = time.Minute

// execTokens hands out one-time tokens for console URLs, like upstream's
// runtimes: Exec returns <base>/exec/<token>; the HTTP server redeems it.
type execTokens struct {
	baseURL string

	mu     sync.Mutex
	tokens map[string]execToken
}

type execToken struct {
	machineID string
	expires   time.Time
}

func newExecTokens(baseURL string) *execTokens {
	return &execTokens{baseURL: strings.TrimSuffix(baseURL, "/"), tokens: map[string]execToken{}}
}

func (t *execTokens) issue(machineID string) (string, error) {
	if t.baseURL == "" {
		return "", runtimeerr.Errorf(runtimeerr.KindUnsupported, "Exec is not available: this memory provider runs without an exec server (start it with --exec-bind-address)")
	}
	token := newID()
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.tokens { // tokens are few and short-lived: a sweep is cheap
		if now.After(v.expires) {
			delete(t.tokens, k)
		}
	}
	t.tokens[token] = execToken{machineID: machineID, expires: now.Add(execTokenTTL)}
	return t.baseURL + "/exec/" + token, nil
}

func (t *execTokens) redeem(token string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.tokens[token]
	delete(t.tokens, token)
	if !ok || time.Now().After(v.expires) {
		return "", false
	}
	return v.machineID, true
}

// ExecHandler serves the URLs Exec hands out. A memory machine has no real
// console: the session greets and echoes the request body back, which is
// enough to test that a caller reaches the right machine through its URL.
func (p *Provider) ExecHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{token}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := p.exec.redeem(r.PathValue("token"))
		if !ok {
			http.Error(w, "unknown or expired exec token; call Exec again for a new URL", http.StatusNotFound)
			return
		}
		if _, err := p.Machines.get(id); err != nil {
			http.Error(w, err.Error(), http.StatusGone)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintf(w, "console of memory machine %s (echo)\n", id)
		_, _ = io.Copy(w, io.LimitReader(r.Body, 1<<20))
	})
	return mux
}
