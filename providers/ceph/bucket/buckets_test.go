package bucket

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

type fakeRGW struct {
	mu      sync.Mutex
	users   map[string]*User
	buckets map[string]string // bucket -> owner access key
	quota   map[string][2]int64
	fail    map[string]error
}

func newFakeRGW() *fakeRGW {
	return &fakeRGW{users: map[string]*User{}, buckets: map[string]string{}, quota: map[string][2]int64{}, fail: map[string]error{}}
}

func (f *fakeRGW) CreateUser(_ context.Context, uid, dn string, _ int) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[uid] = &User{ID: uid, DisplayName: dn, AccessKey: "AK" + uid[len(uid)-4:], SecretKey: "SK"}
	return f.users[uid].AccessKey, "SK", f.fail["CreateUser"]
}
func (f *fakeRGW) SetDisplayName(_ context.Context, uid, dn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[uid].DisplayName = dn
	return f.fail["SetDisplayName"]
}
func (f *fakeRGW) SetQuota(_ context.Context, uid string, size, objects int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quota[uid] = [2]int64{size, objects}
	return f.fail["SetQuota"]
}
func (f *fakeRGW) CreateBucket(_ context.Context, ak, _, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["CreateBucket"]; err != nil {
		return err
	}
	f.buckets[name] = ak
	return nil
}
func (f *fakeRGW) RemoveBucket(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.buckets, name)
	return nil
}
func (f *fakeRGW) RemoveUser(_ context.Context, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, uid)
	return nil
}
func (f *fakeRGW) ListUsers(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.users)), nil
}
func (f *fakeRGW) User(_ context.Context, uid string) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.users[uid], nil
}

var testClass = objstore.BucketClass{Name: "std", TPS: 1, IOPS: 1, MaxSizeBytes: 100, MaxObjects: 5}

func newTestBuckets(t *testing.T, f *fakeRGW) *Buckets {
	t.Helper()
	b, err := New(t.Context(), f, Options{Classes: []objstore.BucketClass{testClass}, Endpoint: "s3.example:7480", Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func breq(lbls map[string]string) *bucketv1alpha1.Bucket {
	return &bucketv1alpha1.Bucket{Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls}, Spec: &bucketv1alpha1.BucketSpec{Class: "std"}}
}

func TestCreateRollsBack(t *testing.T) {
	for _, step := range []string{"SetQuota", "CreateBucket", "SetDisplayName"} {
		f := newFakeRGW()
		b := newTestBuckets(t, f)
		f.fail[step] = errors.New("injected")
		if _, err := b.Create(t.Context(), breq(nil)); err == nil {
			t.Fatalf("%s: create succeeded despite the failure", step)
		}
		if len(f.users) != 0 || b.Index.Len() != 0 {
			t.Errorf("%s: left %d users and %d buckets behind", step, len(f.users), b.Index.Len())
		}
	}
}

// TestCreateRefusesOversizedRecord: labels that would not fit the display name RGW takes are
// refused with InvalidArgument naming the limit, before any user exists.
func TestCreateRefusesOversizedRecord(t *testing.T) {
	f := newFakeRGW()
	b := newTestBuckets(t, f)
	_, err := b.Create(t.Context(), breq(map[string]string{"big": strings.Repeat("%", 5000)}))
	if !errors.Is(err, runtimeerr.ErrInvalid) || !strings.Contains(err.Error(), strconv.Itoa(maxRecordQueryBytes)) {
		t.Fatalf("create with 5000 escaped label bytes: %v, want InvalidArgument naming %d", err, maxRecordQueryBytes)
	}
	if len(f.users) != 0 {
		t.Errorf("the refused create left %d users", len(f.users))
	}
	if _, err := b.Create(t.Context(), breq(map[string]string{"fits": strings.Repeat("a", 8000)})); err != nil {
		t.Errorf("create with 8000 plain label bytes: %v", err)
	}
}

func TestCreateDeleteRebuild(t *testing.T) {
	f := newFakeRGW()
	b := newTestBuckets(t, f)
	ctx := t.Context()
	lbls := map[string]string{labels.BucketUIDLabel: "u"}
	obj, err := b.Create(ctx, breq(lbls))
	if err != nil {
		t.Fatal(err)
	}
	id := obj.GetMetadata().GetId()
	if again, err := b.Create(ctx, breq(lbls)); err != nil || again.GetMetadata().GetId() != id || len(f.users) != 1 {
		t.Errorf("retry: %v %v, %d users", again.GetMetadata().GetId(), err, len(f.users))
	}
	acc := obj.GetStatus().GetAccess()
	if acc.GetEndpoint() != id+".s3.example:7480" || string(acc.GetSecretData()[AccessKeyID]) != f.buckets[id] || f.quota["ironfed-"+id] != [2]int64{100, 5} {
		t.Errorf("access %v, buckets %v, quota %v", acc, f.buckets, f.quota)
	}
	for _, ev := range b.Events.List(objstore.EventFilter{ID: id}) {
		if strings.Contains(ev.Spec.Message, "SK") || strings.Contains(ev.Spec.Message, f.buckets[id]) {
			t.Errorf("event message leaks a key: %q", ev.Spec.Message)
		}
	}
	f.users["ironfed-"+objstore.NewID()] = &User{DisplayName: "half"}
	again := newTestBuckets(t, f)
	if got, ok := again.Index.Get(id); !ok || got.GetMetadata().GetLabels()[labels.BucketUIDLabel] != "u" {
		t.Errorf("after restart: %v", got)
	}
	if removed, err := again.Sweep(ctx); err != nil || len(removed) != 1 {
		t.Errorf("sweep: %v, %v", removed, err)
	}
	if err := again.Delete(ctx, id); err != nil || len(f.users) != 0 || len(f.buckets) != 0 {
		t.Errorf("delete: %v; users %v buckets %v", err, f.users, f.buckets)
	}
	for _, k := range []struct {
		err  error
		want codes.Code
	}{
		{again.Delete(ctx, "x"), codes.InvalidArgument},
		{again.Delete(ctx, id), codes.OK},
		{func() error {
			_, err := again.Create(ctx, &bucketv1alpha1.Bucket{Spec: &bucketv1alpha1.BucketSpec{Class: "gold"}})
			return err
		}(), codes.InvalidArgument},
	} {
		if got := status.Code(runtimeerr.ToStatus(k.err)); got != k.want {
			t.Errorf("%v: %v, want %v", k.err, got, k.want)
		}
	}
}
