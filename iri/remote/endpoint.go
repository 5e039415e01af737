package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Kind names one of the three IRI runtimes.
type Kind string

// The three runtime kinds.
const (
	KindMachine Kind = "machine"
	KindVolume  Kind = "volume"
	KindBucket  Kind = "bucket"
)

// WellKnownSocketDir is where ResolveEndpoint looks for well-known sockets.
// A variable so tests can point it at a temporary directory.
var WellKnownSocketDir = "/var/run"

// discoveryPollInterval is how often ResolveEndpoint looks for a socket.
const discoveryPollInterval = 100 * time.Millisecond

// maxSocketPathLen is the longest path a unix socket address can hold
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPathLen = 107

// ParseKind turns "machine", "volume" or "bucket" into a Kind.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindMachine, KindVolume, KindBucket:
		return k, nil
	}
	return "", fmt.Errorf("unknown IRI runtime kind %q (want machine, volume or bucket)", s)
}

// EnvVar is the environment variable holding this kind's endpoint,
// e.g. IRI_MACHINE_RUNTIME_ENDPOINT.
func (k Kind) EnvVar() string {
	return "IRI_" + strings.ToUpper(string(k)) + "_RUNTIME_ENDPOINT"
}

// WellKnownSockets lists the sockets probed when neither flag nor env is
// set, broker first: a poollet paired with a broker prefers it.
func (k Kind) WellKnownSockets() []string {
	return []string{
		filepath.Join(WellKnownSocketDir, "iri-"+string(k)+"broker.sock"),
		filepath.Join(WellKnownSocketDir, "iri-"+string(k)+"provider.sock"),
	}
}

// ResolveEndpoint returns the endpoint to dial for kind, as "unix:///path":
// flagValue if set, else the kind's environment variable, else the first
// well-known socket that exists, polled until discoveryTimeout passes (zero
// looks once).
func ResolveEndpoint(ctx context.Context, kind Kind, flagValue string, discoveryTimeout time.Duration) (string, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return "", err
	}
	if flagValue != "" {
		return normalize(flagValue, "endpoint flag")
	}
	if v := os.Getenv(kind.EnvVar()); v != "" {
		return normalize(v, kind.EnvVar())
	}
	candidates := kind.WellKnownSockets()
	deadline := time.Now().Add(discoveryTimeout)
	ticker := time.NewTicker(discoveryPollInterval)
	defer ticker.Stop()
	for {
		for _, c := range candidates {
			if isSocket(c) {
				return "unix://" + c, nil
			}
		}
		if !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("looking for a %s runtime socket: %w", kind, ctx.Err())
		case <-ticker.C:
		}
	}
	waited := "exists"
	if discoveryTimeout > 0 {
		waited = "appeared within " + discoveryTimeout.String()
	}
	return "", fmt.Errorf("no %s runtime endpoint: no endpoint flag, %s is unset, and none of %s %s",
		kind, kind.EnvVar(), strings.Join(candidates, ", "), waited)
}

func normalize(endpoint, source string) (string, error) {
	p, err := SocketPath(endpoint)
	if err != nil {
		return "", fmt.Errorf("%s: %w", source, err)
	}
	return "unix://" + p, nil
}

// SocketPath extracts the socket path from "unix:///abs/path",
// "unix:/abs/path" or "/abs/path". Anything else is an error: the IRI is
// served over unix sockets only.
func SocketPath(endpoint string) (string, error) {
	var p string
	switch {
	case endpoint == "":
		return "", errors.New("endpoint is empty")
	case strings.HasPrefix(endpoint, "unix://"):
		p = strings.TrimPrefix(endpoint, "unix://")
		if !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("endpoint %q: want unix:///absolute/path (three slashes)", endpoint)
		}
	case strings.HasPrefix(endpoint, "unix:"):
		p = strings.TrimPrefix(endpoint, "unix:")
	case strings.HasPrefix(endpoint, "/"):
		p = endpoint
	default:
		if i := strings.Index(endpoint, "://"); i > 0 {
			return "", fmt.Errorf("endpoint %q: scheme %q is not supported, IRI endpoints are unix sockets (unix:///absolute/path)", endpoint, endpoint[:i])
		}
		return "", fmt.Errorf("endpoint %q: want an absolute unix socket path (unix:///absolute/path or /absolute/path)", endpoint)
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("endpoint %q: socket path must be absolute", endpoint)
	}
	p = filepath.Clean(p)
	if len(p) > maxSocketPathLen {
		return "", fmt.Errorf("endpoint %q: socket path is %d bytes, unix sockets allow at most %d", endpoint, len(p), maxSocketPathLen)
	}
	return p, nil
}

func isSocket(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Type() == fs.ModeSocket
}
