// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package realceph

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/crds"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/providers/ceph/bucket"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/ceph/volume/rbd"
)

// TestThroughTheChain: a root → region → leaf federation whose leaf runs the Ceph providers. A
// Bucket and a Volume created at the root become real RGW and RBD objects at the leaf, and what
// reaches the root (the bucket's endpoint and S3 keys, the volume's handle, monitors and cephx
// user) is enough to use them: an S3 client with the root's keys puts and gets an object, and the
// volume's bytes are written and read back through librbd with the root's credentials.
func TestThroughTheChain(t *testing.T) {
	c := needCluster(t)
	ctx := t.Context()
	rgw, err := bucket.NewRGW(c.RGWEndpoint, c.AdminAccessKey, c.AdminSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	buckets, err := bucket.New(ctx, rgw, bucket.Options{
		Classes: objstore.DefaultClasses().BucketClasses, Endpoint: strings.TrimPrefix(c.RGWEndpoint, "http://"), Logger: logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(buckets.Close)
	volumes, _ := openVolumes(t)

	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	fed, err := localfed.Up(ctx, localfed.Options{
		Dir: t.TempDir(), Topology: topology.Default(), CRDs: defs, Progress: &progress,
		// The memory provider keeps machines; volumes and buckets are Ceph's.
		LeafRuntimes: map[string]string{"volume": serve(t, "volume", volumes.Register), "bucket": serve(t, "bucket", buckets.Register)},
	})
	if err != nil {
		t.Fatalf("federation: %v\n%s", err, progress.String())
	}
	t.Cleanup(func() {
		if err := fed.Down(); err != nil {
			t.Errorf("federation down: %v", err)
		}
	})
	root := fed.Client("root")

	b := &storagev1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "photos"},
		Spec: storagev1alpha1.BucketSpec{BucketClassRef: &commonv1alpha1.LocalObjectReference{Name: "standard"}}}
	v := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data"},
		Spec: storagev1alpha1.VolumeSpec{VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources: commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("32Mi")}}}
	start := time.Now()
	for _, o := range []client.Object{b, v} {
		if err := root.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(obj client.Object, ready func() bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx2 context.Context) (bool, error) {
			if err := root.Get(ctx2, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false, nil
			}
			return ready(), nil
		})
		if err != nil {
			t.Fatalf("%T %s at the root: %v; status %+v", obj, obj.GetName(), err, obj)
		}
	}
	waitFor(b, func() bool {
		return b.Status.State == storagev1alpha1.BucketStateAvailable && b.Status.Access != nil && b.Status.Access.SecretRef != nil
	})
	waitFor(v, func() bool {
		return v.Status.State == storagev1alpha1.VolumeStateAvailable && v.Status.Access != nil && v.Status.Access.SecretRef != nil
	})
	t.Logf("bucket and volume Available with access at the root %s after creation (3 levels, Ceph leaf)", time.Since(start).Round(10*time.Millisecond))

	// The bucket, used with what the root knows.
	secret := &corev1.Secret{}
	if err := root.Get(ctx, client.ObjectKey{Namespace: "default", Name: b.Status.Access.SecretRef.Name}, secret); err != nil {
		t.Fatal(err)
	}
	name, host, _ := strings.Cut(b.Status.Access.Endpoint, ".")
	s3c := bucket.S3Client("http://"+host, string(secret.Data[bucket.AccessKeyID]), string(secret.Data[bucket.SecretAccessKey]), &http.Client{Timeout: 30 * time.Second})
	putGet(t, s3c, name, "k", []byte("put at the root's keys, stored in the leaf's RGW"))

	// The volume, used with what the root knows.
	if err := root.Get(ctx, client.ObjectKey{Namespace: "default", Name: v.Status.Access.SecretRef.Name}, secret); err != nil {
		t.Fatal(err)
	}
	pool, image, ok := strings.Cut(v.Status.Access.Handle, "/")
	if v.Status.Access.Driver != "ceph" || !ok {
		t.Fatalf("root access %+v: want driver ceph and handle pool/image", v.Status.Access)
	}
	conn, err := rbd.Open(ctx, rbd.Options{Monitors: v.Status.Access.VolumeAttributes["monitors"], User: string(secret.Data["userID"]), Key: string(secret.Data["userKey"]), Pool: pool})
	if err != nil {
		t.Fatalf("librbd with the root's credentials: %v", err)
	}
	defer conn.Close()
	marker := []byte(fmt.Sprintf("written through the root's access at %d", time.Now().UnixNano()))
	if err := conn.WriteAt(ctx, image, nil, marker, 4096); err != nil {
		t.Fatalf("write: %v", err)
	}
	read := make([]byte, len(marker))
	if err := conn.ReadAt(ctx, image, nil, read, 4096); err != nil || !bytes.Equal(read, marker) {
		t.Fatalf("read back %q, %v; want %q", read, err, marker)
	}

	// Deleting at the root removes the RGW user and the RBD image at the leaf.
	for _, o := range []client.Object{b, v} {
		if err := root.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	uid := "ironfed-" + name // the bucket's RGW user (uid derived from the IRI id, which is the bucket name)
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx2 context.Context) (bool, error) {
		_, userErr := rgw.User(ctx2, uid)
		images, err := conn.ListImages(ctx2)
		return userErr != nil && err == nil && !slices.Contains(images, image), nil
	}); err != nil {
		t.Fatalf("leftovers at the leaf after deleting at the root (RGW user %s, RBD image %s): %v", uid, image, err)
	}
}
