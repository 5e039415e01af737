// Package bucket is an IRI BucketRuntime on Ceph RGW: one RGW user per
// bucket (at most one bucket, quota from the bucket class), the bucket
// created through S3 with that user's keys, access handed up as endpoint
// plus AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. The runtime is stateless:
// each bucket's IRI metadata is kept in its RGW user's display name, and the
// index serving lists and watches is rebuilt from RGW on start.
//
// It is pure Go (go-ceph's rgw/admin speaks HTTP), so it needs no Ceph
// libraries.
package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

type bucket = bucketv1alpha1.Bucket

// Keys of a bucket's access secret_data (IronCore's names).
const (
	AccessKeyID     = "AWS_ACCESS_KEY_ID"
	SecretAccessKey = "AWS_SECRET_ACCESS_KEY"
)

// recordPrefix starts the display name of a user whose bucket is complete;
// a user of ours without it is a half-created orphan.
const recordPrefix = "ironfed-bucket:"

type record struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CreatedAt   int64             `json:"createdAt"`
	Class       string            `json:"class"`
}

// Options configures Buckets.
type Options struct {
	Classes []objstore.BucketClass
	// UserPrefix marks the RGW users this runtime owns (default "ironfed-").
	UserPrefix string
	// Endpoint is the host[:port] clients reach RGW at; a bucket's endpoint
	// is "<bucket>.<Endpoint>" (virtual-host style, as IronCore reports it).
	Endpoint string
	// EventCapacity and WatchBufferSize bound memory.
	EventCapacity, WatchBufferSize int
	Logger                         logr.Logger
}

// Buckets is the bucket runtime's domain.
type Buckets struct {
	b       Backend
	opts    Options
	classes map[string]objstore.BucketClass
	Events  *objstore.EventLog
	Index   *objstore.Index[*bucket]
	mu      sync.Mutex
}

// New connects the domain to b and rebuilds the index from RGW's users.
func New(ctx context.Context, b Backend, opts Options) (*Buckets, error) {
	if len(opts.Classes) == 0 {
		return nil, errors.New("bucket runtime: no bucket classes configured")
	}
	if err := (objstore.Classes{BucketClasses: opts.Classes}).Validate(); err != nil {
		return nil, err
	}
	if opts.Endpoint == "" {
		return nil, errors.New("bucket runtime: the endpoint clients reach RGW at is required")
	}
	if opts.UserPrefix == "" {
		opts.UserPrefix = "ironfed-"
	}
	bs := &Buckets{b: b, opts: opts, classes: map[string]objstore.BucketClass{}, Events: objstore.NewEventLog(opts.EventCapacity)}
	for _, c := range opts.Classes {
		bs.classes[c.Name] = c
	}
	bs.Index = objstore.NewIndex[*bucket](labels.BucketUIDLabel, bs.Events, opts.WatchBufferSize)
	if err := bs.load(ctx); err != nil {
		return nil, fmt.Errorf("bucket runtime: reading RGW users: %w", err)
	}
	return bs, nil
}

// Close ends all watches.
func (bs *Buckets) Close() { bs.Index.Close() }

func (bs *Buckets) uid(id string) string { return bs.opts.UserPrefix + id }

func (bs *Buckets) classNames() string {
	names := make([]string, 0, len(bs.opts.Classes))
	for _, c := range bs.opts.Classes {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// Classes returns the bucket classes.
func (bs *Buckets) Classes() []*bucketv1alpha1.BucketClass {
	out := make([]*bucketv1alpha1.BucketClass, 0, len(bs.opts.Classes))
	for _, c := range bs.opts.Classes {
		out = append(out, &bucketv1alpha1.BucketClass{Name: c.Name, Capabilities: &bucketv1alpha1.BucketClassCapabilities{Tps: c.TPS, Iops: c.IOPS}})
	}
	return out
}

// Create creates the user (max one bucket), its quota, the bucket (with
// the user's keys) and last the record; a failure removes the user and
// whatever it owns. A create with the UID label of an existing bucket
// returns that bucket.
func (bs *Buckets) Create(ctx context.Context, in *bucket) (*bucket, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("bucket is required")
	}
	if err := objstore.CheckNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	spec := in.GetSpec()
	if spec == nil {
		return nil, runtimeerr.Invalidf("bucket.spec is required")
	}
	class, ok := bs.classes[spec.GetClass()]
	switch {
	case spec.GetClass() == "":
		return nil, runtimeerr.Invalidf("bucket.spec.class is required; supported bucket classes: %s", bs.classNames())
	case !ok:
		return nil, runtimeerr.Invalidf("bucket class %q is not supported; supported bucket classes: %s", spec.GetClass(), bs.classNames())
	}
	uid := in.GetMetadata().GetLabels()[labels.BucketUIDLabel]
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if existing, ok := bs.Index.ByUID(uid); ok {
		return existing, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := objstore.NewID()
	rec := record{Labels: in.GetMetadata().GetLabels(), Annotations: in.GetMetadata().GetAnnotations(), CreatedAt: time.Now().UnixNano(), Class: class.Name}
	display, err := rec.displayName()
	if err != nil {
		return nil, err
	}
	access, secret, err := bs.create(ctx, id, class, display)
	if err != nil {
		if rerr := bs.b.RemoveUser(context.WithoutCancel(ctx), bs.uid(id)); rerr != nil {
			bs.opts.Logger.Error(rerr, "Rolling back a failed create left an RGW user behind; the orphan sweep removes it", "user", bs.uid(id))
		}
		return nil, err
	}
	obj := bs.object(id, rec, access, secret)
	// Messages name the user and endpoint, never the keys.
	bs.Index.Put(obj, objstore.Normal("Created", "Create", "Created RGW user "+bs.uid(id)+" and its bucket"),
		objstore.Normal("Available", "Create", "Bucket is available at "+obj.Status.Access.Endpoint))
	return obj, nil
}

// maxRecordQueryBytes bounds a record as it travels: the admin API takes the display name in the
// query string, and RGW's HTTP frontend refuses request lines past about 16 KiB (measured: 12,000
// escaped bytes pass, 18,000 fail with an empty answer).
const maxRecordQueryBytes = 12 << 10

// displayName is the record as the user's display name; labels and annotations too large for it
// are refused up front, before anything is created.
func (r record) displayName() (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	name := recordPrefix + string(b)
	if n := len(url.QueryEscape(name)); n > maxRecordQueryBytes {
		return "", runtimeerr.Invalidf("bucket labels and annotations take %d bytes once encoded; this runtime records at most %d (in the RGW user's display name): shorten them", n, maxRecordQueryBytes)
	}
	return name, nil
}

func (bs *Buckets) create(ctx context.Context, id string, class objstore.BucketClass, display string) (string, string, error) {
	uid := bs.uid(id)
	access, secret, err := bs.b.CreateUser(ctx, uid, "ironfed bucket (being created)", 1)
	if err != nil {
		return "", "", fmt.Errorf("creating RGW user %s: %w", uid, err)
	}
	if err := bs.b.SetQuota(ctx, uid, class.MaxSizeBytes, class.MaxObjects); err != nil {
		return "", "", fmt.Errorf("setting the quota of RGW user %s: %w", uid, err)
	}
	if err := bs.b.CreateBucket(ctx, access, secret, id); err != nil {
		return "", "", fmt.Errorf("creating bucket %s as %s: %w", id, uid, err)
	}
	if err := bs.b.SetDisplayName(ctx, uid, display); err != nil {
		return "", "", fmt.Errorf("recording bucket %s on RGW user %s: %w", id, uid, err)
	}
	return access, secret, nil
}

func (bs *Buckets) object(id string, rec record, access, secret string) *bucket {
	return &bucket{
		Metadata: &metav1alpha1.ObjectMetadata{Id: id, Labels: rec.Labels, Annotations: rec.Annotations, CreatedAt: rec.CreatedAt, Generation: 1},
		Spec:     &bucketv1alpha1.BucketSpec{Class: rec.Class},
		Status: &bucketv1alpha1.BucketStatus{
			State: bucketv1alpha1.BucketState_BUCKET_AVAILABLE,
			Access: &bucketv1alpha1.BucketAccess{
				Endpoint:   id + "." + bs.opts.Endpoint,
				SecretData: map[string][]byte{AccessKeyID: []byte(access), SecretAccessKey: []byte(secret)},
			},
		},
	}
}

// Delete purges the bucket's objects, the bucket and its user. A missing
// bucket is success.
func (bs *Buckets) Delete(ctx context.Context, id string) error {
	if err := objstore.CheckID("bucket_id", id); err != nil {
		return err
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if _, ok := bs.Index.Get(id); !ok {
		return nil
	}
	if err := bs.b.RemoveBucket(ctx, id); err != nil {
		return fmt.Errorf("removing bucket %s: %w", id, err)
	}
	if err := bs.b.RemoveUser(ctx, bs.uid(id)); err != nil {
		return fmt.Errorf("removing RGW user %s: %w", bs.uid(id), err)
	}
	bs.Index.Remove(id, objstore.Normal("Deleted", "Delete", "Deleted bucket "+id+" and RGW user "+bs.uid(id)))
	return nil
}

// load rebuilds the index from the users with our prefix and a record.
func (bs *Buckets) load(ctx context.Context) error {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	ids, err := bs.b.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, uid := range ids {
		id, ok := strings.CutPrefix(uid, bs.opts.UserPrefix)
		if !ok || !objstore.ValidID(id) {
			continue
		}
		u, err := bs.b.User(ctx, uid)
		if err != nil {
			return fmt.Errorf("RGW user %s: %w", uid, err)
		}
		raw, ok := strings.CutPrefix(u.DisplayName, recordPrefix)
		if !ok {
			continue // half-created: the sweep removes it
		}
		var rec record
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			bs.opts.Logger.Error(err, "Ignoring an RGW user with an unreadable record", "user", uid)
			continue
		}
		bs.Index.Put(bs.object(id, rec, u.AccessKey, u.SecretKey))
	}
	bs.opts.Logger.Info("Loaded buckets from RGW", "buckets", bs.Index.Len())
	return nil
}

// Sweep removes RGW users with our prefix that the runtime does not know
// (creates that crashed half-way), with their buckets and data.
func (bs *Buckets) Sweep(ctx context.Context) ([]string, error) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	ids, err := bs.b.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, uid := range ids {
		id, ok := strings.CutPrefix(uid, bs.opts.UserPrefix)
		if !ok || !objstore.ValidID(id) {
			continue
		}
		if _, known := bs.Index.Get(id); known {
			continue
		}
		if err := bs.b.RemoveBucket(ctx, id); err != nil {
			return removed, fmt.Errorf("removing orphan bucket %s: %w", id, err)
		}
		if err := bs.b.RemoveUser(ctx, uid); err != nil {
			return removed, fmt.Errorf("removing orphan RGW user %s: %w", uid, err)
		}
		removed = append(removed, uid)
	}
	if len(removed) > 0 {
		bs.opts.Logger.Info("Removed orphan RGW users", "users", removed)
	}
	return removed, nil
}
