package nodecluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// cgroupV1Root is where the cgroup v1 hierarchies are mounted (this host has no cgroup v2-only mode).
const cgroupV1Root = "/sys/fs/cgroup"

// run runs a host command and returns a precise error with its output.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// inNetns runs a command inside the network namespace at nsPath. nsenter, not `ip netns exec`:
// the latter remounts /sys and would hide /sys/fs/cgroup from the kubelet.
func inNetns(nsPath string, name string, args ...string) error {
	return run("nsenter", append([]string{"--net=" + nsPath, "--", name}, args...)...)
}

// addBridge creates the first free bridge ifnb<N> with 10.250.<N>.1/24. Creating the link is the
// lock: two test binaries never get the same N.
func addBridge() (name string, n int, err error) {
	for n = 0; n < 50; n++ {
		name = fmt.Sprintf("ifnb%d", n)
		if err := run("ip", "link", "add", name, "type", "bridge"); err != nil {
			if strings.Contains(err.Error(), "File exists") {
				continue
			}
			return "", 0, err
		}
		if err := run("ip", "addr", "add", fmt.Sprintf("10.250.%d.1/24", n), "dev", name); err != nil {
			_ = run("ip", "link", "del", name)
			return "", 0, err
		}
		if err := run("ip", "link", "set", name, "up"); err != nil {
			_ = run("ip", "link", "del", name)
			return "", 0, err
		}
		return name, n, nil
	}
	return "", 0, errors.New("no free bridge ifnb0..ifnb49")
}

// addNetns creates netns name with a veth to bridge: eth0 with ip/24 inside, forwarding on (pods
// route through the node), no default route (only the bridge's subnet is reachable).
func addNetns(name, bridge, hostVeth, ip string) error {
	if err := run("ip", "netns", "add", name); err != nil {
		return err
	}
	ns := "/run/netns/" + name
	steps := [][]string{
		{"ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", name},
		{"ip", "link", "set", hostVeth, "master", bridge},
		{"ip", "link", "set", hostVeth, "up"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	for _, s := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", ip + "/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "up"},
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
	} {
		if err := inNetns(ns, s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// cgroupControllers lists the mounted v1 hierarchies (cpu, memory, name=systemd, ...) and the v2
// one (unified) the kubelet also writes to.
func cgroupControllers() ([]string, error) {
	entries, err := os.ReadDir(cgroupV1Root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(cgroupV1Root, e.Name()))
		}
	}
	return out, nil
}

// makeCgroupRoot creates /<name> in every hierarchy, with cpuset.cpus and cpuset.mems copied from
// the root (an empty cpuset admits no task).
func makeCgroupRoot(name string) error {
	hierarchies, err := cgroupControllers()
	if err != nil {
		return err
	}
	for _, h := range hierarchies {
		dir := filepath.Join(h, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(h, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(dir, f), err)
				}
			}
		}
	}
	return nil
}

// removeCgroupRoot removes /<name> and everything below it in every hierarchy, deepest first.
func removeCgroupRoot(name string) error {
	hierarchies, err := cgroupControllers()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hierarchies {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, name), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder lazily unmounts every mount point at or below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMount(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := run("umount", "-l", p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MountsUnder lists the mount points at or below dir (after teardown there must be none).
func MountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 {
			if p := unescapeMount(f[4]); p == dir || strings.HasPrefix(p, dir+"/") {
				points = append(points, p)
			}
		}
	}
	return points
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}
