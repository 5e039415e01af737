package localfed

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LeafProcess is a real provider that process mode runs as its own binary for the leaves, as the
// provider container of an ironfed-leaf release (provider.type libvirt, ceph-volume,
// ceph-bucket) does. realleaf describes them; the leaves' poollets use its sockets.
type LeafProcess struct {
	// Name of the component, e.g. "libvirt-provider"; names its log and pid files.
	Name string
	// Binary is the executable's base name in Options.BinDir.
	Binary string
	// Args returns its flags (the leaf chart's, with InstanceFlags set for this host) for the
	// loopback addresses of its /metrics, its /healthz and its exec server. They are chosen right
	// before it starts: a free port chosen earlier may be taken by then (it lies in the ephemeral
	// range every outgoing connection draws from).
	Args func(metrics, health, exec string) []string
	// Env is added to its environment (what a chart passes from a Secret); never logged.
	Env []string
	// Sockets maps each kind it serves ("machine", "volume", "bucket") to its unix socket path.
	Sockets map[string]string
}

// checkLeafProcesses says what is wrong with o.LeafProcesses before anything starts.
func checkLeafProcesses(o Options) error {
	if len(o.LeafProcesses) == 0 {
		return nil
	}
	if o.BinDir == "" {
		return fmt.Errorf("LeafProcesses run as processes: set BinDir (make component-binaries leaf-binaries)")
	}
	served := map[string]string{}
	for k := range o.LeafRuntimes {
		served[k] = "LeafRuntimes"
	}
	var missing []string
	for _, p := range o.LeafProcesses {
		if p.Name == "" || p.Binary == "" || p.Args == nil || len(p.Sockets) == 0 {
			return fmt.Errorf("leaf process %q: Name, Binary, Args and Sockets are required", p.Name)
		}
		for _, k := range slices.Sorted(maps.Keys(p.Sockets)) {
			if !slices.Contains(Kinds, k) {
				return fmt.Errorf("leaf process %s: kind %q, want one of %v", p.Name, k, Kinds)
			}
			if by, ok := served[k]; ok {
				return fmt.Errorf("leaf process %s: kind %s is already served by %s", p.Name, k, by)
			}
			served[k] = p.Name
		}
		if fi, err := os.Stat(filepath.Join(o.BinDir, p.Binary)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, p.Binary)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("leaf provider binaries missing in %s: %s (build them with `make leaf-binaries`, hack/component-binaries.sh --leaf)",
			o.BinDir, strings.Join(missing, ", "))
	}
	return nil
}

// startLeafProcesses runs the leaf providers and hands their sockets to the leaves' poollets, as
// LeafRuntimes would.
func (f *Federation) startLeafProcesses() error {
	if len(f.opts.LeafProcesses) == 0 {
		return nil
	}
	runtimes := maps.Clone(f.opts.LeafRuntimes)
	if runtimes == nil {
		runtimes = map[string]string{}
	}
	for _, lp := range f.opts.LeafProcesses {
		for _, dir := range uniqueDirs(lp.Sockets) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		ports, err := freeLoopbackAddrs(3)
		if err != nil {
			return err
		}
		if err := f.startProcess(&Process{Name: lp.Name, Chart: "ironfed-leaf", Binary: lp.Binary,
			Args: lp.Args(ports[0], ports[1], ports[2]), Env: lp.Env, Health: ports[1]}); err != nil {
			return err
		}
		for k, sock := range lp.Sockets {
			runtimes[k] = "unix://" + sock
		}
		f.logf("%-19s %s (%s)", lp.Name, strings.Join(slices.Sorted(maps.Values(lp.Sockets)), ", "), strings.Join(slices.Sorted(maps.Keys(lp.Sockets)), ", "))
	}
	f.opts.LeafRuntimes = runtimes
	return nil
}

func uniqueDirs(sockets map[string]string) []string {
	var dirs []string
	for _, s := range sockets {
		if d := filepath.Dir(s); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}
