package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

// EmitDefaultValues shows zero enums (e.g. MACHINE_PENDING) instead of
// leaving the field out.
var jsonOut = protojson.MarshalOptions{EmitDefaultValues: true}

// marshalJSON renders msg as indented JSON. protojson's own indentation
// varies on purpose from build to build; encoding/json's does not.
func marshalJSON(msg proto.Message) ([]byte, error) {
	b, err := jsonOut.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// table is a header and rows of cells, printed aligned.
type table struct {
	header []string
	rows   [][]string
}

// print writes msg as JSON or YAML, or t as an aligned table.
func (c *cli) print(msg proto.Message, t table) error {
	switch c.output {
	case "json":
		b, err := marshalJSON(msg)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	case "yaml":
		b, err := toYAML(msg)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func toYAML(msg proto.Message) ([]byte, error) {
	b, err := jsonOut.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(b)
}

// watchPrinter prints watch events as they come: one table row, one JSON
// line or one YAML document per event.
type watchPrinter struct {
	c      *cli
	header []string
	once   bool
}

func (p *watchPrinter) event(typ remote.EventType, obj proto.Message, row []string) error {
	switch p.c.output {
	case "json":
		ev := map[string]any{"type": typ.String()}
		if obj != nil {
			b, err := jsonOut.Marshal(obj)
			if err != nil {
				return err
			}
			ev["object"] = json.RawMessage(b)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.c.stdout, "%s\n", b)
		return err
	case "yaml":
		// Written by hand so that type comes before the object.
		var b strings.Builder
		fmt.Fprintf(&b, "---\ntype: %s\n", typ)
		if obj != nil {
			y, err := toYAML(obj)
			if err != nil {
				return err
			}
			b.WriteString("object:\n")
			for _, l := range strings.SplitAfter(strings.TrimSuffix(string(y), "\n"), "\n") {
				b.WriteString("  " + l)
			}
			b.WriteString("\n")
		}
		_, err := io.WriteString(p.c.stdout, b.String())
		return err
	}
	if typ == remote.Synced {
		fmt.Fprintln(p.c.stderr, "# initial list complete, watching for changes")
		return nil
	}
	if !p.once {
		p.once = true
		p.line(append([]string{"EVENT"}, p.header...))
	}
	p.line(append([]string{typ.String()}, row...))
	return nil
}

// line pads cells to fixed widths: rows arrive one by one, so a tabwriter
// could not align them.
func (p *watchPrinter) line(cells []string) {
	widths := []int{9, 24, 16, 12, 40}
	var b strings.Builder
	for i, cell := range cells {
		if i < len(cells)-1 && i < len(widths) {
			fmt.Fprintf(&b, "%-*s ", widths[i], cell)
		} else {
			b.WriteString(cell + " ")
		}
	}
	fmt.Fprintln(p.c.stdout, strings.TrimRight(b.String(), " "))
}

// labelSummary shows up to two labels, sorted, and how many more there are.
func labelSummary(labels map[string]string) string {
	if len(labels) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys[:min(2, len(keys))] {
		parts = append(parts, k+"="+labels[k])
	}
	s := strings.Join(parts, ",")
	if n := len(keys) - 2; n > 0 {
		s += fmt.Sprintf(",+%d more", n)
	}
	return s
}

// age renders created_at (Unix ns) like kubectl's AGE column.
func age(md *metav1alpha1.ObjectMetadata) string {
	if md.GetCreatedAt() == 0 {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(time.Unix(0, md.GetCreatedAt())))
}

// state strips the enum prefix ("MACHINE_RUNNING" -> "RUNNING") and marks
// objects being deleted.
func state(name, prefix string, md *metav1alpha1.ObjectMetadata) string {
	s := strings.TrimPrefix(name, prefix)
	if md.GetDeletedAt() != 0 {
		s += " (deleting)"
	}
	return s
}

// bytesString renders a byte count as a Kubernetes quantity (e.g. 10Gi).
func bytesString(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String()
}

// mapSummary renders a resource map as sorted k=v pairs.
func mapSummary(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ",")
}
