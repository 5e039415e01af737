package memory

import (
	"crypto/rand"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type bucket = bucketv1alpha1.Bucket

// Keys of a bucket's access secret, as in the lib-bucket-provisioner
// secrets upstream's ceph-provider hands out.
const (
	BucketAccessKeyID     = "AWS_ACCESS_KEY_ID"
	BucketSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
)

// Buckets is the bucket runtime's domain.
type Buckets struct {
	*Store[*bucket]
	classes []BucketClass
	byName  map[string]BucketClass
}

func newBuckets(cfg Config, events *EventLog) *Buckets {
	b := &Buckets{classes: cfg.BucketClasses, byName: map[string]BucketClass{}}
	capacity := map[string]int64{}
	for _, c := range cfg.BucketClasses {
		b.byName[c.Name] = c
		capacity[c.Name] = c.Capacity
	}
	endpoint := cfg.BucketEndpoint
	b.Store = newStore(kindOps[*bucket]{
		kind:      "bucket",
		idField:   "bucket_id",
		uidLabel:  labels.BucketUIDLabel,
		class:     func(o *bucket) (string, int64) { return o.GetSpec().GetClass(), 1 },
		settle:    func(o *bucket) (bool, []eventRecord) { return settleBucket(o, endpoint) },
		terminate: func(*bucket) {},
	}, cfg, events, capacity)
	return b
}

// Create creates a bucket from in (which it does not keep) and returns a
// copy. A bucket whose poollet UID label matches an existing bucket's is
// that bucket.
func (b *Buckets) Create(in *bucket) (*bucket, error) {
	obj, err := b.create(in)
	if err != nil {
		return nil, err
	}
	return clone(obj), nil
}

func (b *Buckets) create(in *bucket) (*bucket, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("bucket is required")
	}
	if err := checkNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	spec := in.GetSpec()
	if spec == nil {
		return nil, runtimeerr.Invalidf("bucket.spec is required")
	}
	if spec.Class == "" {
		return nil, runtimeerr.Invalidf("bucket.spec.class is required; supported bucket classes: %s", b.classNames())
	}
	if _, ok := b.byName[spec.Class]; !ok {
		return nil, runtimeerr.Invalidf("bucket class %q is not supported; supported bucket classes: %s", spec.Class, b.classNames())
	}
	obj := &bucket{
		Metadata: newMetadata(in.GetMetadata()),
		Spec:     proto.Clone(spec).(*bucketv1alpha1.BucketSpec),
		Status:   &bucketv1alpha1.BucketStatus{State: bucketv1alpha1.BucketState_BUCKET_PENDING},
	}
	return b.Store.create(obj)
}

func (b *Buckets) classNames() string {
	names := make([]string, 0, len(b.classes))
	for _, c := range b.classes {
		names = append(names, c.Name)
	}
	return joinOrNone(names)
}

// Classes returns the bucket classes.
func (b *Buckets) Classes() []*bucketv1alpha1.BucketClass {
	out := make([]*bucketv1alpha1.BucketClass, 0, len(b.classes))
	for _, c := range b.classes {
		out = append(out, &bucketv1alpha1.BucketClass{
			Name:         c.Name,
			Capabilities: &bucketv1alpha1.BucketClassCapabilities{Tps: c.TPS, Iops: c.IOPS},
		})
	}
	return out
}

func settleBucket(o *bucket, endpoint string) (bool, []eventRecord) {
	if o.Status.State == bucketv1alpha1.BucketState_BUCKET_AVAILABLE {
		return false, nil
	}
	o.Status.State = bucketv1alpha1.BucketState_BUCKET_AVAILABLE
	o.Status.Access = &bucketv1alpha1.BucketAccess{
		Endpoint: o.Metadata.Id + "." + endpoint,
		SecretData: map[string][]byte{
			BucketAccessKeyID:     []byte(randomKey(20)),
			BucketSecretAccessKey: []byte(randomKey(40)),
		},
	}
	// The message names the endpoint but never the credentials.
	return true, []eventRecord{normal("Available", "Create", fmt.Sprintf("Bucket is available at %s", o.Status.Access.Endpoint))}
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomKey returns n random characters in the style of S3 access keys.
func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(keyAlphabet[int(c)%len(keyAlphabet)])
	}
	return sb.String()
}
