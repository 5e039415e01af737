// Package apis_test guards the wire compatibility of the IRI protos with
// IronCore's IRI v1alpha1.
//
// The schema is rendered from the generated descriptors into one line per
// element (file, import, service, rpc, message, field, reserved range, enum,
// enum value) and compared with two golden files:
//
//   - testdata/upstream-v1alpha1.txt: upstream's schema. Every line must exist
//     unchanged in ours. Never edit it to make this test pass.
//   - testdata/ironfed-extensions-v1alpha1.txt: our additions. Together with
//     the upstream file it must describe ours exactly, so that every addition
//     is a reviewed change. Rewrite it with
//     `go test ./iri/apis/ -run TestWireSchema -update`.
package apis_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite testdata/ironfed-extensions-v1alpha1.txt from the descriptors")

const (
	upstreamGolden  = "testdata/upstream-v1alpha1.txt"
	extensionGolden = "testdata/ironfed-extensions-v1alpha1.txt"
)

// protoFiles are the IRI files, by their path relative to the proto root.
var protoFiles = []protoreflect.FileDescriptor{
	metav1alpha1.File_meta_v1alpha1_api_proto,
	eventv1alpha1.File_event_v1alpha1_api_proto,
	bucketv1alpha1.File_bucket_v1alpha1_api_proto,
	machinev1alpha1.File_machine_v1alpha1_api_proto,
	volumev1alpha1.File_volume_v1alpha1_api_proto,
}

func TestWireSchema(t *testing.T) {
	ours := renderFiles(protoFiles)
	upstream := readGolden(t, upstreamGolden)

	if problems := compare(upstream, ours); len(problems) > 0 {
		t.Errorf("our IRI is not wire-compatible with upstream v1alpha1 (%s):\n%s",
			upstreamGolden, strings.Join(problems, "\n"))
	}

	var additions []string
	upstreamSet := toSet(upstream)
	for _, l := range ours {
		if !upstreamSet[l] {
			additions = append(additions, l)
		}
	}
	if *update {
		writeGolden(t, extensionGolden, additions)
		return
	}
	extensions := readGolden(t, extensionGolden)
	if problems := compare(extensions, additions); len(problems) > 0 {
		t.Errorf("ironfed extensions differ from %s:\n%s", extensionGolden, strings.Join(problems, "\n"))
	}
	extensionSet := toSet(extensions)
	var undeclared []string
	for _, l := range additions {
		if !extensionSet[l] {
			undeclared = append(undeclared, "  "+l)
		}
	}
	if len(undeclared) > 0 {
		t.Errorf("additions to the IRI not declared in %s (review them, then rerun with -update):\n%s",
			extensionGolden, strings.Join(undeclared, "\n"))
	}
}

// TestRegisteredPaths checks that the files are registered under upstream's
// import paths, which reflection clients (grpcurl, server reflection) rely on.
func TestRegisteredPaths(t *testing.T) {
	for _, fd := range protoFiles {
		got, err := protoregistry.GlobalFiles.FindFileByPath(fd.Path())
		if err != nil {
			t.Errorf("%s: not registered: %v", fd.Path(), err)
			continue
		}
		if got != fd {
			t.Errorf("%s: another descriptor is registered under this path", fd.Path())
		}
	}
}

// TestServiceDescs checks the generated gRPC service descriptions against
// the upstream RPC table: the method paths on the wire come from these.
func TestServiceDescs(t *testing.T) {
	descs := map[string]*grpc.ServiceDesc{
		"bucket.v1alpha1.BucketRuntime":   &bucketv1alpha1.BucketRuntime_ServiceDesc,
		"machine.v1alpha1.MachineRuntime": &machinev1alpha1.MachineRuntime_ServiceDesc,
		"volume.v1alpha1.VolumeRuntime":   &volumev1alpha1.VolumeRuntime_ServiceDesc,
	}
	for _, l := range readGolden(t, upstreamGolden) {
		f := strings.Fields(l)
		if f[0] != "rpc" {
			continue
		}
		i := strings.LastIndex(f[1], ".")
		service, method := f[1][:i], f[1][i+1:]
		desc, ok := descs[service]
		if !ok {
			t.Errorf("%s: no generated service description", service)
			continue
		}
		if desc.ServiceName != service {
			t.Errorf("%s: generated service name is %q", service, desc.ServiceName)
		}
		if !slices.ContainsFunc(desc.Methods, func(m grpc.MethodDesc) bool { return m.MethodName == method }) {
			t.Errorf("%s: unary method %s missing from the generated service description", service, method)
		}
	}
	watches := map[*grpc.ServiceDesc]string{
		&bucketv1alpha1.BucketRuntime_ServiceDesc:   "WatchBuckets",
		&machinev1alpha1.MachineRuntime_ServiceDesc: "WatchMachines",
		&volumev1alpha1.VolumeRuntime_ServiceDesc:   "WatchVolumes",
	}
	for desc, name := range watches {
		i := slices.IndexFunc(desc.Streams, func(s grpc.StreamDesc) bool { return s.StreamName == name })
		if i < 0 {
			t.Errorf("%s: stream %s missing", desc.ServiceName, name)
			continue
		}
		if s := desc.Streams[i]; !s.ServerStreams || s.ClientStreams {
			t.Errorf("%s.%s: want server streaming only, got server=%t client=%t",
				desc.ServiceName, name, s.ServerStreams, s.ClientStreams)
		}
	}
}

// TestCompareDetectsChanges makes sure the checker itself catches the
// changes it exists for.
func TestCompareDetectsChanges(t *testing.T) {
	want := []string{
		"field m.v1.A 1 id string",
		"field m.v1.A 2 labels map<string,string>",
		"rpc m.v1.S.Get m.v1.GetRequest m.v1.GetResponse unary",
		"value m.v1.E 1 E_ONE",
	}
	cases := map[string][]string{
		"renumbered": {want[0], "field m.v1.A 3 labels map<string,string>", want[2], want[3]},
		"retyped":    {"field m.v1.A 1 id bytes", want[1], want[2], want[3]},
		"renamed":    {want[0], want[1], want[2], "value m.v1.E 1 E_UNO"},
		"streaming":  {want[0], want[1], "rpc m.v1.S.Get m.v1.GetRequest m.v1.GetResponse server-streaming", want[3]},
		"removed":    {want[0], want[1], want[2]},
	}
	for name, got := range cases {
		if len(compare(want, got)) == 0 {
			t.Errorf("%s: change not detected", name)
		}
	}
	if p := compare(want, append(slices.Clone(want), "field m.v1.A 3 extra string")); len(p) > 0 {
		t.Errorf("an addition was reported as a problem: %v", p)
	}
}

// compare reports every line of want that is not in got, naming the line of
// got with the same identity (number) or, failing that, the same name.
func compare(want, got []string) []string {
	gotSet := toSet(got)
	byKey, byName := map[string]string{}, map[string]string{}
	for _, l := range got {
		byKey[key(l)] = l
		if n := nameKey(l); n != "" {
			byName[n] = l
		}
	}
	var problems []string
	for _, l := range want {
		if gotSet[l] {
			continue
		}
		g, ok := byKey[key(l)]
		if !ok && nameKey(l) != "" {
			g, ok = byName[nameKey(l)]
		}
		if ok {
			problems = append(problems, fmt.Sprintf("  changed: want %q, got %q", l, g))
		} else {
			problems = append(problems, fmt.Sprintf("  missing: %q", l))
		}
	}
	return problems
}

// nameKey identifies fields and enum values by name, to report renumbering.
func nameKey(line string) string {
	f := strings.Fields(line)
	if (f[0] == "field" || f[0] == "value") && len(f) >= 4 {
		return strings.Join([]string{f[0], f[1], f[3]}, " ")
	}
	return ""
}

// key is the identity of an element: what must not change its meaning.
func key(line string) string {
	f := strings.Fields(line)
	n := len(f)
	switch f[0] {
	case "file", "rpc":
		n = 2
	case "field", "value":
		n = 3
	}
	return strings.Join(f[:min(n, len(f))], " ")
}

func renderFiles(files []protoreflect.FileDescriptor) []string {
	var out []string
	for _, fd := range files {
		out = append(out, fmt.Sprintf("file %s %s", fd.Path(), fd.Package()))
		for i := range fd.Imports().Len() {
			out = append(out, fmt.Sprintf("import %s %s", fd.Path(), fd.Imports().Get(i).Path()))
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			out = append(out, fmt.Sprintf("service %s", sd.FullName()))
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				out = append(out, fmt.Sprintf("rpc %s %s %s %s",
					md.FullName(), md.Input().FullName(), md.Output().FullName(), streaming(md)))
			}
		}
		out = append(out, renderMessages(fd.Messages())...)
		out = append(out, renderEnums(fd.Enums())...)
	}
	return out
}

func renderMessages(mds protoreflect.MessageDescriptors) []string {
	var out []string
	for i := range mds.Len() {
		md := mds.Get(i)
		if md.IsMapEntry() {
			continue
		}
		out = append(out, fmt.Sprintf("message %s", md.FullName()))
		for j := range md.Fields().Len() {
			out = append(out, fmt.Sprintf("field %s %d %s %s",
				md.FullName(), md.Fields().Get(j).Number(), md.Fields().Get(j).Name(), fieldType(md.Fields().Get(j))))
		}
		for j := range md.ReservedRanges().Len() {
			r := md.ReservedRanges().Get(j)
			for n := r[0]; n < r[1]; n++ {
				out = append(out, fmt.Sprintf("reserved-number %s %d", md.FullName(), n))
			}
		}
		for j := range md.ReservedNames().Len() {
			out = append(out, fmt.Sprintf("reserved-name %s %s", md.FullName(), md.ReservedNames().Get(j)))
		}
		out = append(out, renderMessages(md.Messages())...)
		out = append(out, renderEnums(md.Enums())...)
	}
	return out
}

func renderEnums(eds protoreflect.EnumDescriptors) []string {
	var out []string
	for i := range eds.Len() {
		ed := eds.Get(i)
		out = append(out, fmt.Sprintf("enum %s", ed.FullName()))
		for j := range ed.Values().Len() {
			v := ed.Values().Get(j)
			out = append(out, fmt.Sprintf("value %s %d %s", ed.FullName(), v.Number(), v.Name()))
		}
	}
	return out
}

// fieldType renders type and cardinality as the golden files spell them.
func fieldType(fd protoreflect.FieldDescriptor) string {
	var s string
	switch {
	case fd.IsMap():
		s = fmt.Sprintf("map<%s,%s>", valueType(fd.MapKey()), valueType(fd.MapValue()))
	case fd.IsList():
		s = "repeated " + valueType(fd)
	case fd.HasOptionalKeyword():
		s = "optional " + valueType(fd)
	default:
		s = valueType(fd)
	}
	if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
		s += " oneof=" + string(od.Name())
	}
	if fd.Cardinality() == protoreflect.Required {
		s = "required " + s
	}
	return s
}

func valueType(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(fd.Message().FullName())
	case protoreflect.EnumKind:
		return string(fd.Enum().FullName())
	default:
		return fd.Kind().String()
	}
}

func streaming(md protoreflect.MethodDescriptor) string {
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return "bidi-streaming"
	case md.IsStreamingClient():
		return "client-streaming"
	case md.IsStreamingServer():
		return "server-streaming"
	default:
		return "unary"
	}
}

func readGolden(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden file: %v", err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("golden file %s: %v", path, err)
	}
	if len(lines) == 0 {
		t.Fatalf("golden file %s is empty", path)
	}
	return lines
}

func writeGolden(t *testing.T, path string, lines []string) {
	t.Helper()
	header := `# ironfed additions to IRI v1alpha1 (everything in our descriptors that is
# not in upstream-v1alpha1.txt). Same line format as upstream-v1alpha1.txt.
# Generated by: go test ./iri/apis/ -run TestWireSchema -update
# Lines here may be added; changing or removing one breaks our own clients.
`
	content := header + strings.Join(lines, "\n") + "\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func toSet(lines []string) map[string]bool {
	s := make(map[string]bool, len(lines))
	for _, l := range lines {
		s[l] = true
	}
	return s
}
