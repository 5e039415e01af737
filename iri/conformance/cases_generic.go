package conformance

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// genericCases are the cases every runtime passes the same way.
func genericCases[T object](newAPI func() *kindAPI[T]) []Case {
	api := newAPI()
	r := api.runtime
	cases := []struct {
		name string
		run  func(context.Context, *C, *kindAPI[T])
	}{
		{"version", caseVersion[T]},
		{"create-list-delete", caseCreateListDelete[T]},
		{"list-filter", caseListFilter[T]},
		{"list-unknown-id-is-empty", caseListUnknownID[T]},
		{"delete-missing-succeeds", caseDeleteMissing[T]},
		{"create-is-idempotent-per-uid-label", caseIdempotentCreate[T]},
		{"parallel-creates", caseParallelCreates[T]},
		{"parallel-creates-one-uid-label", caseParallelSameUID[T]},
		{"events", caseEvents[T]},
		{"watch", caseWatch[T]},
		{"bad-create-requests", caseBadCreates[T]},
		{"missing-and-malformed-ids", caseMissingIDs[T]},
	}
	out := make([]Case, 0, len(cases))
	for _, k := range cases {
		out = append(out, Case{Runtime: r, Name: k.name, Run: func(ctx context.Context, c *C) { k.run(ctx, c, api) }})
	}
	return out
}

func caseVersion[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	name, version, err := api.version(ctx, c)
	if err != nil {
		c.Fatalf("Version: %v", err)
	}
	if name == "" || version == "" {
		c.Errorf("Version answered runtime_name %q, runtime_version %q; want both set", name, version)
	}
	c.Logf("runtime %s %s", name, version)
}

func caseCreateListDelete[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	lbls := c.Labels("conformance.ironfed.dev/role", "main")
	before := time.Now().UnixNano()
	obj := mustCreate(ctx, c, api, lbls)
	md := obj.GetMetadata()
	id := md.GetId()
	if !hasLabels(md.GetLabels(), lbls) {
		c.Errorf("created %s has labels %v, want at least %v", api.runtime, md.GetLabels(), lbls)
	}
	if md.GetAnnotations()[CaseAnnotation] != c.Name() {
		c.Errorf("created %s has annotations %v, want %s=%s", api.runtime, md.GetAnnotations(), CaseAnnotation, c.Name())
	}
	if md.GetCreatedAt() < before-int64(time.Minute) || md.GetDeletedAt() != 0 {
		c.Errorf("created %s has created_at %d (request sent at %d) and deleted_at %d", api.runtime, md.GetCreatedAt(), before, md.GetDeletedAt())
	}
	got, ok := getOne(ctx, c, api, id)
	if !ok {
		c.Fatalf("created %s %s is not listed by its id", api.runtime, id)
	}
	if !hasLabels(got.GetMetadata().GetLabels(), lbls) {
		c.Errorf("listed %s lost labels: %v", api.runtime, got.GetMetadata().GetLabels())
	}
	bySel, err := api.list(ctx, c, "", lbls)
	if err != nil || !slices.Equal(ids(bySel), []string{id}) {
		c.Errorf("listing by labels %v: %v, %v; want only %s", lbls, ids(bySel), err, id)
	}
	all, err := api.list(ctx, c, "", nil)
	if err != nil || !slices.Contains(ids(all), id) {
		c.Errorf("listing without filter (%d objects, err %v) does not include %s", len(all), err, id)
	}
	waitReady(ctx, c, api, id)
	if err := api.del(ctx, c, id); err != nil {
		c.Fatalf("deleting %s %s: %v", api.runtime, id, err)
	}
	waitGone(ctx, c, api, id)
	if err := api.del(ctx, c, id); err != nil {
		c.Errorf("deleting %s %s again: %v; a delete of a missing object must succeed", api.runtime, id, err)
	}
}

func caseListFilter[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	const role = "conformance.ironfed.dev/role"
	a := mustCreate(ctx, c, api, c.Labels(role, "a")).GetMetadata().GetId()
	b := mustCreate(ctx, c, api, c.Labels(role, "b")).GetMetadata().GetId()
	cases := []struct {
		what string
		id   string
		sel  map[string]string
		want []string
	}{
		{"the run label", "", c.Labels(), sorted(a, b)},
		{"run and role=a", "", c.Labels(role, "a"), []string{a}},
		{"run and role=none (all labels must match)", "", c.Labels(role, "none"), []string{}},
		{"id of b", b, nil, []string{b}},
		{"id of a and role=b", a, map[string]string{role: "b"}, []string{}},
	}
	for _, k := range cases {
		got, err := api.list(ctx, c, k.id, k.sel)
		if err != nil {
			c.Errorf("listing by %s: %v", k.what, err)
			continue
		}
		if !slices.Equal(ids(got), k.want) {
			c.Errorf("listing by %s: got %v, want %v", k.what, ids(got), k.want)
		}
	}
}

func caseListUnknownID[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	id := mustCreate(ctx, c, api, c.Labels()).GetMetadata().GetId()
	unknown := unknownID(id)
	got, err := api.list(ctx, c, unknown, nil)
	if err != nil {
		c.Fatalf("listing by unknown id %s: %v; want an empty list, not an error", unknown, err)
	}
	if len(got) != 0 {
		c.Errorf("listing by unknown id %s returned %v", unknown, ids(got))
	}
}

func caseDeleteMissing[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	id := mustCreate(ctx, c, api, c.Labels()).GetMetadata().GetId()
	if err := api.del(ctx, c, unknownID(id)); err != nil {
		c.Errorf("deleting unknown id %s: %v; want success", unknownID(id), err)
	}
	if err := api.del(ctx, c, id); err != nil {
		c.Fatalf("deleting %s: %v", id, err)
	}
	if err := api.del(ctx, c, id); err != nil {
		c.Errorf("deleting %s twice in a row: %v; want success", id, err)
	}
	waitGone(ctx, c, api, id)
	if err := api.del(ctx, c, id); err != nil {
		c.Errorf("deleting %s after it is gone: %v; want success", id, err)
	}
}

func caseIdempotentCreate[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	uid := c.UID("retry")
	lbls := c.Labels(api.uidLabel, uid)
	first := mustCreate(ctx, c, api, lbls).GetMetadata().GetId()
	again := mustCreate(ctx, c, api, lbls).GetMetadata().GetId()
	if again != first {
		c.Errorf("a retried create with %s=%s minted %s; want the existing %s", api.uidLabel, uid, again, first)
	}
	got, err := api.list(ctx, c, "", map[string]string{api.uidLabel: uid})
	if err != nil || len(got) != 1 {
		c.Errorf("listing by %s=%s: %v, %v; want exactly one object", api.uidLabel, uid, ids(got), err)
	}
}

// createConcurrently runs n creates at once; labels(i) gives each one's labels.
func createConcurrently[T object](ctx context.Context, c *C, api *kindAPI[T], n int, labels func(i int) map[string]string) []string {
	out := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obj, err := api.create(ctx, c, labels(i))
			if err != nil {
				c.Errorf("create %d of %d: %v", i+1, n, err)
				return
			}
			out[i] = obj.GetMetadata().GetId()
		}()
	}
	wg.Wait()
	if c.Failed() {
		c.Fatalf("concurrent creates failed")
	}
	return out
}

func caseParallelCreates[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	n := api.parallelism(ctx, c)
	if n < 2 {
		c.Skipf("the runtime's classes hold fewer than 2 %ss", api.runtime)
	}
	got := createConcurrently(ctx, c, api, n, func(i int) map[string]string {
		return c.Labels(api.uidLabel, c.UID(fmt.Sprint(i)))
	})
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			c.Errorf("%d concurrent distinct creates returned id %s twice", n, id)
		}
		seen[id] = true
	}
	listed, err := api.list(ctx, c, "", c.Labels())
	if err != nil || len(listed) != n {
		c.Errorf("after %d concurrent creates, listing by the run label found %d (%v)", n, len(listed), err)
	}
}

func caseParallelSameUID[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	const n = 20
	uid := c.UID("same")
	got := createConcurrently(ctx, c, api, n, func(int) map[string]string { return c.Labels(api.uidLabel, uid) })
	for _, id := range got {
		if id != got[0] {
			c.Errorf("%d concurrent creates with %s=%s returned different ids: %v", n, api.uidLabel, uid, got)
			break
		}
	}
	listed, err := api.list(ctx, c, "", map[string]string{api.uidLabel: uid})
	if err != nil || len(listed) != 1 {
		c.Errorf("after %d concurrent creates with one UID label, listing by it found %v (%v); want one object", n, ids(listed), err)
	}
}

func caseEvents[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	obj := mustCreate(ctx, c, api, c.Labels())
	id := obj.GetMetadata().GetId()
	waitReady(ctx, c, api, id)
	c.Eventually(ctx, "events about "+string(api.runtime)+" "+id, func() (bool, string) {
		evs, err := api.events(ctx, c, eventFilter{id: id})
		if err != nil {
			return false, err.Error()
		}
		return len(evs) > 0, ""
	})
	evs, err := api.events(ctx, c, eventFilter{id: id})
	if err != nil {
		c.Fatalf("ListEvents by id: %v", err)
	}
	for _, ev := range evs {
		s := ev.GetSpec()
		if s.GetInvolvedObjectMeta().GetId() != id {
			c.Errorf("ListEvents by id %s returned an event about %q", id, s.GetInvolvedObjectMeta().GetId())
		}
		if s.GetReason() == "" || (s.GetType() != "Normal" && s.GetType() != "Warning") || s.GetEventTime() <= 0 {
			c.Errorf("event %q: reason %q, type %q (want Normal or Warning), time %d", s.GetMessage(), s.GetReason(), s.GetType(), s.GetEventTime())
		}
		// IronCore's brokers, poollets and irictl read event times and windows as Unix seconds.
		created := obj.GetMetadata().GetCreatedAt() / int64(time.Second)
		if at := s.GetEventTime(); at < created-60 || at > time.Now().Unix()+60 {
			c.Errorf("event %q: event_time %d is not Unix seconds between the object's creation (%d) and now (%d)", s.GetMessage(), at, created, time.Now().Unix())
		}
	}
	byLabel, err := api.events(ctx, c, eventFilter{selector: c.Labels()})
	if err != nil || len(byLabel) == 0 {
		c.Errorf("ListEvents by the run label: %d events, %v; want the events of %s", len(byLabel), err, id)
	}
	for _, ev := range byLabel {
		if !hasLabels(ev.GetSpec().GetInvolvedObjectMeta().GetLabels(), c.Labels()) {
			c.Errorf("ListEvents by labels returned an event about an object without them")
		}
	}
	future := time.Now().Add(time.Hour).Unix()
	if got, err := api.events(ctx, c, eventFilter{id: id, from: future}); err != nil || len(got) != 0 {
		c.Errorf("ListEvents from an hour ahead: %d events, %v; want none", len(got), err)
	}
	if got, err := api.events(ctx, c, eventFilter{id: id, to: obj.GetMetadata().GetCreatedAt()/int64(time.Second) - 3600}); err != nil || len(got) != 0 {
		c.Errorf("ListEvents up to an hour before the creation: %d events, %v; want none", len(got), err)
	}
	// The window IronCore's irictl and poollets send: Unix seconds around now.
	around := eventFilter{id: id, from: obj.GetMetadata().GetCreatedAt()/int64(time.Second) - 60, to: time.Now().Unix() + 60}
	if got, err := api.events(ctx, c, around); err != nil || len(got) == 0 {
		c.Errorf("ListEvents in a window of Unix seconds around the creation: %d events, %v; want the object's events", len(got), err)
	}
}

func caseBadCreates[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	for _, b := range api.badCreates(ctx, c) {
		checkCode(c, "create with "+b.name, b.call(ctx), b.codes...)
	}
	left, err := api.list(ctx, c, "", c.Labels())
	if err != nil || len(left) != 0 {
		c.Errorf("refused creates left %v behind (%v)", ids(left), err)
	}
}

func caseMissingIDs[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	unknown := unknownID(mustCreate(ctx, c, api, c.Labels()).GetMetadata().GetId())
	for _, call := range api.idCalls(c, unknown) {
		checkCode(c, call.name+" of unknown id "+unknown, call.call(ctx), codes.NotFound)
	}
	for _, call := range api.idCalls(c, malformedID) {
		checkCode(c, call.name+" of malformed id", call.call(ctx), codes.InvalidArgument, codes.NotFound)
	}
	okOr(c, "delete of malformed id", api.del(ctx, c, malformedID), codes.InvalidArgument, codes.NotFound)
	got, err := api.list(ctx, c, malformedID, nil)
	okOr(c, "list by malformed id", err, codes.InvalidArgument)
	if len(got) != 0 {
		c.Errorf("listing by a malformed id returned %v", ids(got))
	}
}
