package realceph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/go-logr/logr"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/providers/ceph/bucket"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

// putGet puts body under key into the bucket and reads it back with the same client.
func putGet(t *testing.T, client *s3.Client, bucketName, key string, body []byte) {
	t.Helper()
	ctx := t.Context()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucketName), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("S3 put into %s: %v", bucketName, err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucketName), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("S3 get from %s: %v", bucketName, err)
	}
	got, _ := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("S3 get returned %q, want %q", got, body)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestBucketDataPath uses a bucket the way a tenant does: an S3 client with
// the keys from the bucket's access puts and gets an object; the same keys
// cannot create a second bucket nor exceed the class quota; delete leaves
// neither bucket nor user.
func TestBucketDataPath(t *testing.T) {
	b, rgw := openBuckets(t)
	ctx := t.Context()
	obj, err := b.Create(ctx, &bucketv1alpha1.Bucket{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": t.Name()}},
		Spec:     &bucketv1alpha1.BucketSpec{Class: testBucketClass.Name},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := obj.GetMetadata().GetId()
	acc := obj.GetStatus().GetAccess()
	name, host, _ := strings.Cut(acc.GetEndpoint(), ".")
	if name != id || "http://"+host != cluster.RGWEndpoint {
		t.Fatalf("endpoint %q; want <bucket id>.<rgw host:port>", acc.GetEndpoint())
	}
	client := bucket.S3Client("http://"+host, string(acc.GetSecretData()[bucket.AccessKeyID]), string(acc.GetSecretData()[bucket.SecretAccessKey]), &http.Client{Timeout: 30 * time.Second})

	putGet(t, client, name, "greeting", []byte("hello from an ironfed bucket"))

	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("second-" + id[:20])})
	if apiCode(err) != "TooManyBuckets" {
		t.Errorf("a second bucket with the same keys: %v; want TooManyBuckets", err)
	}
	big := bytes.Repeat([]byte{'x'}, int(2*testBucketClass.MaxSizeBytes))
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("big"), Body: bytes.NewReader(big)})
	if apiCode(err) != "QuotaExceeded" {
		t.Errorf("putting %d bytes into a bucket with a %d-byte quota: %v; want QuotaExceeded", len(big), testBucketClass.MaxSizeBytes, err)
	}

	if err := b.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := rgw.User(ctx, "ironfed-"+id); err == nil {
		t.Errorf("RGW user ironfed-%s still exists after delete", id)
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err == nil {
		t.Errorf("bucket %s still answers after delete", name)
	}
}

// TestBucketRestartAndSweep: a second runtime knows the buckets (records
// live in RGW) with their keys, and the sweep removes users it owns but has
// no record of, with their buckets.
func TestBucketRestartAndSweep(t *testing.T) {
	b, rgw := openBuckets(t)
	ctx := t.Context()
	obj, err := b.Create(ctx, &bucketv1alpha1.Bucket{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": t.Name()}},
		Spec:     &bucketv1alpha1.BucketSpec{Class: testBucketClass.Name},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := obj.GetMetadata().GetId()
	t.Cleanup(func() { _ = b.Delete(context.WithoutCancel(ctx), id) })
	orphanID := objstore.NewID()
	ak, sk, err := rgw.CreateUser(ctx, "ironfed-"+orphanID, "half-created", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := rgw.CreateBucket(ctx, ak, sk, orphanID); err != nil {
		t.Fatal(err)
	}

	again, err := bucket.New(ctx, rgw, bucket.Options{Classes: []objstore.BucketClass{testBucketClass}, Endpoint: "rgw.example", Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got, ok := again.Index.Get(id)
	if !ok || !bytes.Equal(got.GetStatus().GetAccess().GetSecretData()[bucket.AccessKeyID], obj.GetStatus().GetAccess().GetSecretData()[bucket.AccessKeyID]) ||
		got.GetMetadata().GetLabels()["test"] != t.Name() {
		t.Errorf("after restart bucket %s is %v; want it as created", id, got)
	}
	removed, err := again.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"ironfed-" + orphanID}) {
		t.Errorf("sweep removed %v; want only ironfed-%s", removed, orphanID)
	}
	if users, _ := rgw.ListUsers(ctx); slices.Contains(users, "ironfed-"+orphanID) {
		t.Errorf("orphan user still listed")
	}
}
