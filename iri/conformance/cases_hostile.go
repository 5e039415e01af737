package conformance

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// HostileSuite is the hostile-input probe (issue 18): per runtime, requests with oversized,
// invalid or missing fields, wrong and absurd ids, duplicate creates and bad labels. None may be
// answered Unknown, Internal or DataLoss (input is never the runtime's fault), every refusal needs a
// message, and nothing may be half-created: afterwards the runtime lists exactly what it
// accepted. It is separate from DefaultSuite so that each runtime opts in (RunSuiteTests).
func HostileSuite() Suite {
	var s Suite
	s = append(s, hostileCase(machineAPI))
	s = append(s, hostileCase(volumeAPI))
	s = append(s, hostileCase(bucketAPI))
	return s
}

func hostileCase[T object](newAPI func() *kindAPI[T]) Case {
	api := newAPI()
	return Case{Runtime: api.runtime, Name: "hostile-inputs", Run: func(ctx context.Context, c *C) { caseHostile(ctx, c, api) }}
}

// hostileIDs are ids no runtime mints.
var hostileIDs = map[string]string{
	"empty id":          "",
	"1 MiB id":          strings.Repeat("f", 1<<20),
	"path traversal id": "../../../etc/passwd",
	"id with a slash":   "a/b",
	"id with NUL":       "a\x00b",
	"unicode id":        "ünïcødé-☃",
	"blank id":          "   ",
	"malformed id":      malformedID,
}

// tally counts answers by code.
type tally struct {
	n     int
	codes map[codes.Code]int
}

func (t *tally) String() string {
	var parts []string
	for code, n := range t.codes {
		parts = append(parts, fmt.Sprintf("%s=%d", code, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d requests: %s", t.n, strings.Join(parts, " "))
}

// check records err and fails the case for an answer that blames the runtime for bad input.
func (t *tally) check(c *C, what string, err error) codes.Code {
	t.n++
	st, ok := status.FromError(err)
	if !ok {
		c.Errorf("%s: %v is not a gRPC status", what, err)
		return codes.Unknown
	}
	t.codes[st.Code()]++
	switch st.Code() {
	case codes.OK:
	case codes.Unknown, codes.Internal, codes.DataLoss:
		c.Errorf("%s: answered %s (%.200q): bad input must get a precise code", what, st.Code(), st.Message())
	default:
		if strings.TrimSpace(st.Message()) == "" {
			c.Errorf("%s: %s without a message", what, st.Code())
		}
	}
	return st.Code()
}

func caseHostile[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	t := &tally{codes: map[codes.Code]int{}}
	accepted := map[string]bool{}
	create := func(what string, lbls map[string]string) {
		obj, err := api.create(ctx, c, lbls)
		if t.check(c, "create with "+what, err) == codes.OK {
			accepted[obj.GetMetadata().GetId()] = true
		}
	}
	huge := strings.Repeat("x", 300<<10)
	many := c.Labels()
	for i := range 2000 {
		many[fmt.Sprintf("hostile.ironfed.dev/l%d", i)] = "v"
	}
	for _, l := range []struct {
		what string
		lbls map[string]string
	}{
		{"a 300 KiB label value", c.Labels("hostile.ironfed.dev/huge", huge)},
		{"a 300 KiB label key", c.Labels(huge, "v")},
		{"2000 labels", many},
		{"an empty label key", c.Labels("", "v")},
		{"a label key with blanks and slashes", c.Labels("a b/c/d", "v")},
		{"a label with NUL and newlines", c.Labels("k\x00\n", "v\x00\n")},
		{"a unicode label", c.Labels("ключ/☃", "значение")},
	} {
		create(l.what, l.lbls)
	}
	// A retried create (same poollet uid label) must not duplicate.
	uid := c.Labels(api.uidLabel, c.UID("hostile"))
	create("a uid label", uid)
	create("the same uid label again", uid)
	if api.runtime == Volume {
		for _, size := range []int64{math.MaxInt64, 1 << 62, -1} {
			v, err := c.newVolume(ctx, c.Labels())
			if err != nil {
				c.Fatalf("building a volume: %v", err)
			}
			v.Spec.Resources.StorageBytes = size
			_, err = c.Volume().CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: v})
			if t.check(c, fmt.Sprintf("create with size %d", size), err) == codes.OK {
				c.Errorf("a volume of %d bytes was accepted", size)
			}
		}
	}
	for _, b := range api.badCreates(ctx, c) {
		if t.check(c, "create with "+b.name, b.call(ctx)) == codes.OK {
			c.Errorf("create with %s succeeded", b.name)
		}
	}
	for what, id := range hostileIDs {
		for _, call := range api.idCalls(c, id) {
			if t.check(c, call.name+" of "+what, call.call(ctx)) == codes.OK {
				c.Errorf("%s of %s succeeded", call.name, what)
			}
		}
		t.check(c, "delete of "+what, api.del(ctx, c, id))
		got, err := api.list(ctx, c, id, nil)
		if t.check(c, "list by "+what, err) == codes.OK && len(got) != 0 && id != "" {
			c.Errorf("listing by %s returned %v", what, ids(got))
		}
	}
	// Nothing half-created: exactly what was accepted is there.
	left, err := api.list(ctx, c, "", c.Labels())
	if err != nil {
		c.Fatalf("listing what the hostile requests left: %v", err)
	}
	got := ids(left)
	var want []string
	for id := range accepted {
		want = append(want, id)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		c.Errorf("after the hostile requests the runtime lists %v, but accepted %v", got, want)
	}
	c.Logf("hostile inputs against the %s runtime: %s; %d objects accepted", api.runtime, t, len(want))
}
