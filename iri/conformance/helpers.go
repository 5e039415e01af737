package conformance

import (
	"context"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// malformedID is not a plausible id for any runtime.
const malformedID = "not a valid id/../!"

func mustCreate[T object](ctx context.Context, c *C, api *kindAPI[T], lbls map[string]string) T {
	obj, err := api.create(ctx, c, lbls)
	if err != nil {
		c.Fatalf("creating a %s: %v", api.runtime, err)
	}
	return obj
}

// getOne lists by id; ok is false when the object is not listed.
func getOne[T object](ctx context.Context, c *C, api *kindAPI[T], id string) (T, bool) {
	objs, err := api.list(ctx, c, id, nil)
	if err != nil {
		c.Fatalf("listing %s %s: %v", api.runtime, id, err)
	}
	var zero T
	switch len(objs) {
	case 0:
		return zero, false
	case 1:
		if got := objs[0].GetMetadata().GetId(); got != id {
			c.Fatalf("listing by id %s returned %s %s", id, api.runtime, got)
		}
		return objs[0], true
	}
	c.Fatalf("listing by id %s returned %d %ss", id, len(objs), api.runtime)
	return zero, false
}

// waitFor polls the object until cond holds.
func waitFor[T object](ctx context.Context, c *C, api *kindAPI[T], id, what string, cond func(T) (bool, string)) T {
	var last T
	c.Eventually(ctx, string(api.runtime)+" "+id+" "+what, func() (bool, string) {
		obj, ok := getOne(ctx, c, api, id)
		if !ok {
			return false, "not listed"
		}
		last = obj
		return cond(obj)
	})
	return last
}

func waitReady[T object](ctx context.Context, c *C, api *kindAPI[T], id string) T {
	return waitFor(ctx, c, api, id, "to become ready", api.ready)
}

func waitGone[T object](ctx context.Context, c *C, api *kindAPI[T], id string) {
	c.Eventually(ctx, string(api.runtime)+" "+id+" to disappear after delete", func() (bool, string) {
		_, ok := getOne(ctx, c, api, id)
		return !ok, "still listed"
	})
}

// unknownID returns an id shaped like id that no object has: the last
// character changed.
func unknownID(id string) string {
	if id == "" {
		return "0"
	}
	last := id[len(id)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return id[:len(id)-1] + string(repl)
}

// checkCode fails the case unless err is a status with one of want and a
// message a person can act on.
func checkCode(c *C, what string, err error, want ...codes.Code) {
	if err == nil {
		c.Errorf("%s: succeeded, want %s", what, codesString(want))
		return
	}
	st, ok := status.FromError(err)
	if !ok {
		c.Errorf("%s: %v is not a gRPC status, want %s", what, err, codesString(want))
		return
	}
	if !slices.Contains(want, st.Code()) {
		c.Errorf("%s: got %s (%q), want %s", what, st.Code(), st.Message(), codesString(want))
		return
	}
	if strings.TrimSpace(st.Message()) == "" {
		c.Errorf("%s: %s without a message", what, st.Code())
	}
}

// okOr accepts success or one of the codes (for calls where several
// answers are reasonable, e.g. deleting a malformed id).
func okOr(c *C, what string, err error, want ...codes.Code) {
	if err != nil {
		checkCode(c, what, err, want...)
	}
}

func codesString(cs []codes.Code) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, " or ")
}

func ids[T object](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetMetadata().GetId())
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func isUnimplemented(err error) bool { return status.Code(err) == codes.Unimplemented }
