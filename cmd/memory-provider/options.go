package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/federation/app"
)

// options are the command's flags, grouped by concern.
type options struct {
	sockets struct {
		dir                  string
		machine, volume, bkt string
		runtimes             []string
	}
	configFile string
	stateDelay time.Duration
	exec       struct{ bindAddress, url string }
	probeAddr  string
	metricsAdr string
	// metricsSecurity: --metrics-secure, --metrics-cert-dir.
	metricsSecurity app.MetricsSecurity
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.sockets.dir, "socket-dir", "/var/run", "Directory of the runtime sockets not given explicitly; they are named like the well-known provider sockets (iri-machineprovider.sock, ...), where poollets find them.")
	fs.StringVar(&o.sockets.machine, "machine-socket", "", "Machine runtime socket (default <socket-dir>/iri-machineprovider.sock).")
	fs.StringVar(&o.sockets.volume, "volume-socket", "", "Volume runtime socket (default <socket-dir>/iri-volumeprovider.sock).")
	fs.StringVar(&o.sockets.bkt, "bucket-socket", "", "Bucket runtime socket (default <socket-dir>/iri-bucketprovider.sock).")
	fs.StringSliceVar(&o.sockets.runtimes, "runtimes", []string{"machine", "volume", "bucket"}, "Runtimes to serve.")
	fs.StringVar(&o.configFile, "config", "", "YAML or JSON file with classes and settings (see docs/memory-provider.md); empty uses the defaults.")
	fs.DurationVar(&o.stateDelay, "state-delay", 0, "Delay of every state transition and of the removal of deleted objects; overrides the config file's stateDelay when set.")
	fs.StringVar(&o.exec.bindAddress, "exec-bind-address", "", "Address of the HTTP server behind Exec URLs (Kubernetes remotecommand, SPDY and WebSocket: a fake echo console); empty makes Exec answer Unimplemented.")
	fs.StringVar(&o.exec.url, "exec-url", "", "Base URL Exec hands out (default http://<exec-bind-address>).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Address of /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables them.")
	fs.StringVar(&o.metricsAdr, "metrics-bind-address", "127.0.0.1:8080", "Address of /metrics (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
	o.metricsSecurity.AddFlags(fs)
}

// socketFor returns the socket of a runtime, or "" when it is not served.
func (o *options) socketFor(kind string) string {
	if !slices.Contains(o.sockets.runtimes, kind) {
		return ""
	}
	explicit := map[string]string{"machine": o.sockets.machine, "volume": o.sockets.volume, "bucket": o.sockets.bkt}[kind]
	if explicit != "" {
		return explicit
	}
	return filepath.Join(o.sockets.dir, "iri-"+kind+"provider.sock")
}

func (o *options) validate() error {
	if len(o.sockets.runtimes) == 0 {
		return fmt.Errorf("--runtimes is empty: nothing to serve")
	}
	for _, r := range o.sockets.runtimes {
		if r != "machine" && r != "volume" && r != "bucket" {
			return fmt.Errorf("--runtimes: unknown runtime %q (want machine, volume, bucket)", r)
		}
	}
	if o.stateDelay < 0 {
		return fmt.Errorf("--state-delay must not be negative, got %s", o.stateDelay)
	}
	if o.exec.url != "" && o.exec.bindAddress == "" {
		return fmt.Errorf("--exec-url needs --exec-bind-address: nothing would serve it")
	}
	if o.exec.url != "" && !strings.Contains(o.exec.url, "://") {
		return fmt.Errorf("--exec-url %q is not an absolute URL", o.exec.url)
	}
	return nil
}
