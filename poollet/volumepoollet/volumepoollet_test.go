// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package volumepoollet_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/volumepoollet"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/poollettest"
)

const wait = 15 * time.Second

func TestVolumeLifecycle(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	if err := e.Client.Create(ctx, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}}); err != nil {
		t.Fatal(err)
	}
	o := e.Options("vp")
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return volumepoollet.New(ctx, e.Config, o) })

	count := commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeVolumeClass, "fast")
	pool := &storagev1alpha1.VolumePool{}
	poollettest.Eventually(t, wait, "pool announced", func() error {
		if err := e.Client.Get(ctx, client.ObjectKey{Name: "vp"}, pool); err != nil {
			return err
		}
		if q := pool.Status.Capacity[count]; q.Value() != 100<<40 {
			return fmt.Errorf("capacity %v", pool.Status.Capacity)
		}
		return nil
	})

	v := &storagev1alpha1.Volume{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data"},
		Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			VolumePoolRef:  &commonv1alpha1.LocalObjectReference{Name: "vp"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		},
	}
	if err := e.Client.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "volume available", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return err
		}
		if v.Status.State != storagev1alpha1.VolumeStateAvailable || v.Status.Access == nil || v.Status.Access.Driver != "memory" || v.Status.VolumeID == "" {
			return fmt.Errorf("status %+v", v.Status)
		}
		return nil
	})
	poollettest.Eventually(t, wait, "allocatable", func() error {
		if err := e.Client.Get(ctx, client.ObjectKey{Name: "vp"}, pool); err != nil {
			return err
		}
		if q := pool.Status.Allocatable[count]; q.Value() != 100<<40-1<<30 {
			return fmt.Errorf("allocatable %v", pool.Status.Allocatable)
		}
		return nil
	})

	orig := v.DeepCopy()
	v.Spec.Resources[commonv1alpha1.ResourceStorage] = resource.MustParse("2Gi")
	if err := e.Client.Patch(ctx, v, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "volume expanded", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return err
		}
		if q := v.Status.Resources[commonv1alpha1.ResourceStorage]; q.Value() != 2<<30 {
			return fmt.Errorf("status resources %v", v.Status.Resources)
		}
		return nil
	})

	// Regression (probe): a shrink was accepted and reported synced. The admission policy
	// refuses it up front ...
	orig = v.DeepCopy()
	v.Spec.Resources[commonv1alpha1.ResourceStorage] = resource.MustParse("1Gi")
	if err := e.Client.Patch(ctx, v, client.MergeFrom(orig)); err == nil || !strings.Contains(err.Error(), "volumes can only grow") {
		t.Fatalf("shrink through the admission policy: %v; want it refused (volumes can only grow)", err)
	}
	// ... and where it is missing (an IronCore cluster), the poollet says it cannot be done.
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, "volume-size.storage.ironcore.dev", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "shrink written without the policy", func() error {
		return e.Client.Patch(ctx, v, client.MergeFrom(orig))
	})
	poollettest.Eventually(t, wait, "shrink refused", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return err
		}
		c, ok := conditions.Get(v.Status.Conditions, conditions.Volume, core.ConditionRuntimeSynced)
		if !ok || c.Status != corev1.ConditionFalse || c.Reason != core.ReasonRuntimeRejected || !strings.Contains(c.Message, "volumes only grow") {
			return fmt.Errorf("RuntimeSynced %+v", c)
		}
		if q := v.Status.Resources[commonv1alpha1.ResourceStorage]; q.Value() != 2<<30 {
			return fmt.Errorf("status resources %v", v.Status.Resources)
		}
		return nil
	})

	uid := string(v.UID)
	if err := e.Client.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "volume gone", func() error {
		return goneEverywhere(ctx, e.Client, v, func() (int, error) {
			res, err := e.Provider.VolumeServer().ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{LabelSelector: map[string]string{labels.VolumeUIDLabel: uid}}})
			return len(res.GetVolumes()), err
		})
	})
}

// goneEverywhere says why obj is not yet gone from the apiserver and from the runtime, which
// lists left objects for it; nil once both are empty.
func goneEverywhere(ctx context.Context, c client.Client, obj client.Object, left func() (int, error)) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
		return fmt.Errorf("still there (%v)", err)
	}
	n, err := left()
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("the runtime still lists %d", n)
	}
	return nil
}

func TestVolumeWaitsForEncryptionSecret(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	o := e.Options("vp")
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return volumepoollet.New(ctx, e.Config, o) })
	v := &storagev1alpha1.Volume{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "secret-data"},
		Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			VolumePoolRef:  &commonv1alpha1.LocalObjectReference{Name: "vp"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
			Encryption:     &storagev1alpha1.VolumeEncryption{SecretRef: commonv1alpha1.LocalObjectReference{Name: "key"}},
		},
	}
	if err := e.Client.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "waiting for key", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return err
		}
		for _, c := range v.Status.Conditions {
			if string(c.Type) == volumepoollet.ConditionPrerequisitesMet && c.Reason == volumepoollet.ReasonWaitingForEncryptionKey {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", v.Status.Conditions)
	})
	if err := e.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "key"}, Data: map[string][]byte{"key": []byte("k")}}); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "volume available", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return err
		}
		if v.Status.State != storagev1alpha1.VolumeStateAvailable {
			return fmt.Errorf("state %q", v.Status.State)
		}
		return nil
	})
}

// TestVolumeAccessSecret: the runtime's access secret_data lands in a Secret owned by the Volume
// and referenced by status.access.secretRef; no secret byte appears in the Volume's annotations,
// its status or the poollet's logs (debug level).
func TestVolumeAccessSecret(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	var logs syncBuffer
	logger := zap.New(zap.UseDevMode(true), zap.Level(zapcore.Level(-10)), zap.WriteTo(&logs))
	o := e.Options("vp")
	o.Manager.Logger = &logger
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return volumepoollet.New(ctx, e.Config, o) })

	v := &storagev1alpha1.Volume{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "creds"},
		Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			VolumePoolRef:  &commonv1alpha1.LocalObjectReference{Name: "vp"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		},
	}
	if err := e.Client.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "access secretRef", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return err
		}
		if v.Status.Access == nil || v.Status.Access.SecretRef == nil {
			return fmt.Errorf("status %+v", v.Status)
		}
		return nil
	})
	// Upstream's name: the first 63 hex characters of sha256("<volume>/<handle>").
	if want := volumepoollet.AccessSecretName("creds", v.Status.Access.Handle); v.Status.Access.SecretRef.Name != want || len(want) != 63 {
		t.Fatalf("secretRef = %q, want %q", v.Status.Access.SecretRef.Name, want)
	}
	id := v.Status.VolumeID[strings.Index(v.Status.VolumeID, "://")+3:]
	want := memory.VolumeCredentials(id)
	s := &corev1.Secret{}
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: v.Status.Access.SecretRef.Name}, s); err != nil {
		t.Fatal(err)
	}
	if len(s.Data) != len(want) || string(s.Data[memory.VolumeUserID]) != string(want[memory.VolumeUserID]) ||
		string(s.Data[memory.VolumeUserKey]) != string(want[memory.VolumeUserKey]) {
		t.Fatalf("secret data = %q, want %q", s.Data, want)
	}
	if ref := metav1.GetControllerOf(s); ref == nil || ref.UID != v.UID || ref.Kind != "Volume" {
		t.Fatalf("secret owner = %+v, want the Volume %s", s.OwnerReferences, v.UID)
	}
	if s.Labels[labels.VolumeUIDLabel] != string(v.UID) {
		t.Fatalf("secret labels = %v, want %s=%s", s.Labels, labels.VolumeUIDLabel, v.UID)
	}

	key := string(want[memory.VolumeUserKey])
	for k, val := range v.Annotations {
		if strings.Contains(val, key) || strings.Contains(k, key) {
			t.Fatalf("annotation %s carries the volume key", k)
		}
	}
	if b, _ := json.Marshal(v.Status); strings.Contains(string(b), key) {
		t.Fatalf("status carries the volume key: %s", b)
	}
	res, err := e.Provider.VolumeServer().ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id}})
	if err != nil || len(res.GetVolumes()) != 1 {
		t.Fatalf("ListVolumes: %v, %d", err, len(res.GetVolumes()))
	}
	for k, val := range res.GetVolumes()[0].GetMetadata().GetAnnotations() {
		if strings.Contains(val, key) {
			t.Fatalf("IRI annotation %s carries the volume key", k)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no logs captured; the check below would prove nothing")
	}
	if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), base64.StdEncoding.EncodeToString([]byte(key))) {
		t.Fatal("poollet logs carry the volume key")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
