package framework

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// APIWrites counts the mutating requests an apiserver served, by "verb resource[/subresource]",
// from its own apiserver_request_total: what every client (controllers, poollets, brokers,
// event recorders) cost it. Leases (heartbeats, leader election) are left out: they are per
// component, not per machine.
func APIWrites(b testing.TB, cfg *rest.Config) map[string]float64 {
	b.Helper()
	out := map[string]float64{}
	scrape(b, cfg, func(name string, l map[string]string, v float64) {
		if name != "apiserver_request_total" {
			return
		}
		switch l["verb"] {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE":
		default:
			return
		}
		if l["resource"] == "leases" || l["resource"] == "tokenreviews" || l["resource"] == "subjectaccessreviews" {
			return
		}
		key := l["verb"] + " " + l["resource"]
		if s := l["subresource"]; s != "" {
			key += "/" + s
		}
		out[key] += v
	})
	return out
}

// APICost is what an apiserver has spent so far: its process CPU and its writes of one
// resource's status subresource (any verb), with their summed latency.
type APICost struct {
	CPUSeconds         float64
	StatusWrites       float64
	StatusWriteSeconds float64
}

// Sub is c - before.
func (c APICost) Sub(before APICost) APICost {
	return APICost{c.CPUSeconds - before.CPUSeconds, c.StatusWrites - before.StatusWrites, c.StatusWriteSeconds - before.StatusWriteSeconds}
}

// APICostOf reads an APICost for resource's status from the apiserver's own /metrics.
func APICostOf(b testing.TB, cfg *rest.Config, resource string) APICost {
	b.Helper()
	var c APICost
	scrape(b, cfg, func(name string, l map[string]string, v float64) {
		switch {
		case name == "process_cpu_seconds_total":
			c.CPUSeconds = v
		case l["resource"] != resource || l["subresource"] != "status":
		case name == "apiserver_request_duration_seconds_count" && l["verb"] != "GET" && l["verb"] != "LIST" && l["verb"] != "WATCH":
			c.StatusWrites += v
		case name == "apiserver_request_duration_seconds_sum" && l["verb"] != "GET" && l["verb"] != "LIST" && l["verb"] != "WATCH":
			c.StatusWriteSeconds += v
		}
	})
	return c
}

// scrape calls sample for every sample of the apiserver's /metrics.
func scrape(b testing.TB, cfg *rest.Config, sample func(name string, labels map[string]string, v float64)) {
	b.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		b.Fatalf("apiserver metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("apiserver metrics: %s %v", resp.Status, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, l := line, map[string]string{}
		end := strings.IndexByte(line, ' ')
		if open := strings.IndexByte(line, '{'); open >= 0 {
			end = strings.LastIndexByte(line, '}')
			name, l = line[:open], promLabels(line[open+1:end])
			end++
		}
		if end < 0 {
			continue
		}
		if open := strings.IndexByte(name, ' '); open >= 0 {
			name = name[:open]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end:]), 64)
		if err != nil {
			continue
		}
		sample(name, l, v)
	}
}

// promLabels parses k="v",k2="v2" (values without escaped quotes, as these are).
func promLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// WritesDelta is after - before, per key, and the total.
func WritesDelta(before, after map[string]float64) (map[string]float64, float64) {
	d, total := map[string]float64{}, 0.0
	for k, v := range after {
		if x := v - before[k]; x > 0 {
			d[k] = x
			total += x
		}
	}
	return d, total
}

// FormatWrites lists a delta per machine, largest first.
func FormatWrites(d map[string]float64, n int) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return d[keys[i]] > d[keys[j]] })
	var parts []string
	for _, k := range keys {
		if per := d[k] / float64(n); per >= 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, per))
		}
	}
	return strings.Join(parts, ", ")
}
