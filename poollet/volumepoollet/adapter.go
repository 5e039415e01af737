// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package volumepoollet

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// Finalizer is upstream's volumepoollet finalizer.
const Finalizer = storagev1alpha1.VolumePoolletFinalizer

// Condition and reasons of the prerequisites a Volume waits for.
const (
	ConditionPrerequisitesMet      = core.ConditionPrerequisitesMet
	ReasonWaitingForVolumeClass    = "WaitingForVolumeClass"
	ReasonWaitingForEncryptionKey  = "WaitingForEncryptionSecret"
	ReasonWaitingForStorageRequest = "WaitingForStorageRequest"
)

// AccessSecretName is upstream's name of the Secret holding a volume's access credentials: the
// first 63 hex characters of sha256("<volume name>/<access handle>").
func AccessSecretName(volumeName, handle string) string {
	return core.HashedName(volumeName + "/" + handle)
}

type adapter struct {
	rt          remote.VolumeRuntime
	pool        string
	runtimeName string
}

// The capabilities this kind has (the core detects them; these make a signature slip a
// compile error instead of a silently missing capability).
var (
	_ core.Adapter[*storagev1alpha1.Volume, *volumev1alpha1.Volume] = (*adapter)(nil)
	_ core.Updater[*storagev1alpha1.Volume, *volumev1alpha1.Volume] = (*adapter)(nil)
	_ core.SecondaryWatcher                                         = (*adapter)(nil)
	_ core.EventLister                                              = (*adapter)(nil)
)

func (*adapter) Kind() labels.Kind            { return labels.Volume }
func (*adapter) New() *storagev1alpha1.Volume { return &storagev1alpha1.Volume{} }
func (*adapter) Finalizer() string            { return Finalizer }

func (a *adapter) Prepare(ctx context.Context, c client.Reader, v *storagev1alpha1.Volume) (*volumev1alpha1.Volume, *core.Waiting, error) {
	out := &volumev1alpha1.Volume{Metadata: &metav1alpha1.ObjectMetadata{}, Spec: &volumev1alpha1.VolumeSpec{}}
	if v.Spec.VolumeClassRef == nil {
		return out, &core.Waiting{Reason: ReasonWaitingForVolumeClass, Message: "Waiting: the volume has no volume class"}, nil
	}
	out.Spec.Class = v.Spec.VolumeClassRef.Name
	storage, ok := v.Spec.Resources[commonv1alpha1.ResourceStorage]
	if !ok {
		return out, &core.Waiting{Reason: ReasonWaitingForStorageRequest, Message: "Waiting: spec.resources.storage is not set"}, nil
	}
	out.Spec.Resources = &volumev1alpha1.VolumeResources{StorageBytes: storage.Value()}
	if img := v.Spec.DataSource.OSImage; img != nil {
		out.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{ImageDataSource: &volumev1alpha1.ImageDataSource{Image: img.Image}}
		if img.Architecture != nil {
			out.Spec.VolumeDataSource.ImageDataSource.Architecture = *img.Architecture
		}
	}
	if ref := v.Spec.DataSource.VolumeSnapshotRef; ref != nil {
		id, w, err := a.snapshotSource(ctx, c, v.Namespace, ref.Name)
		if err != nil || w != nil {
			return out, w, err
		}
		out.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: id}}
	}
	if enc := v.Spec.Encryption; enc != nil {
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: v.Namespace, Name: enc.SecretRef.Name}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return out, &core.Waiting{Reason: ReasonWaitingForEncryptionKey, Message: fmt.Sprintf("Waiting: encryption Secret %s does not exist", enc.SecretRef.Name)}, nil
			}
			return nil, nil, err
		}
		out.Spec.Encryption = &volumev1alpha1.EncryptionSpec{SecretData: s.Data}
	}
	return out, nil, nil
}

// snapshotSource returns the IRI id of the VolumeSnapshot a Volume restores, or what it waits
// for: the snapshot to be Ready in this pool's runtime.
func (a *adapter) snapshotSource(ctx context.Context, c client.Reader, namespace, name string) (string, *core.Waiting, error) {
	s := &storagev1alpha1.VolumeSnapshot{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &core.Waiting{Reason: ReasonWaitingForVolumeSnapshot, Message: fmt.Sprintf("Waiting: VolumeSnapshot %s does not exist", name)}, nil
		}
		return "", nil, err
	}
	if p := s.Labels[SnapshotPoolLabel]; p != "" && p != a.pool {
		return "", &core.Waiting{Reason: ReasonWaitingForVolumeSnapshot, Message: fmt.Sprintf("Waiting: VolumeSnapshot %s is held by VolumePool %s, not %s; restore it with a volume on that pool (spec.volumePoolRef)", name, p, a.pool)}, nil
	}
	id, ok := strings.CutPrefix(s.Status.SnapshotID, a.runtimeName+"://")
	if s.Status.State != storagev1alpha1.VolumeSnapshotStateReady || !ok || id == "" {
		return "", &core.Waiting{Reason: ReasonWaitingForVolumeSnapshot, Message: fmt.Sprintf("Waiting: VolumeSnapshot %s is not Ready (state %q)", name, s.Status.State)}, nil
	}
	return id, nil, nil
}

func (a *adapter) Create(ctx context.Context, desired *volumev1alpha1.Volume) (*volumev1alpha1.Volume, error) {
	res, err := a.rt.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: desired})
	return res.GetVolume(), err
}

func (a *adapter) Delete(ctx context.Context, id string) error {
	_, err := a.rt.DeleteVolume(ctx, &volumev1alpha1.DeleteVolumeRequest{VolumeId: id})
	return err
}

// Update expands the volume when the requested size grew (volumes never shrink).
func (a *adapter) Update(ctx context.Context, _ *storagev1alpha1.Volume, desired, actual *volumev1alpha1.Volume) (bool, error) {
	want, have := desired.GetSpec().GetResources().GetStorageBytes(), actual.GetSpec().GetResources().GetStorageBytes()
	if want < have {
		// Not synced, whatever the runtime would say: the spec asks for what cannot be done.
		return false, status.Errorf(codes.FailedPrecondition,
			"spec.resources.storage asks for %d bytes but the volume has %d: volumes only grow; set it back to at least %d bytes", want, have, have)
	}
	if want == have {
		return false, nil
	}
	_, err := a.rt.ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: actual.GetMetadata().GetId(), Resources: &volumev1alpha1.VolumeResources{StorageBytes: want}})
	return err == nil, err
}

var states = map[volumev1alpha1.VolumeState]storagev1alpha1.VolumeState{
	volumev1alpha1.VolumeState_VOLUME_PENDING:   storagev1alpha1.VolumeStatePending,
	volumev1alpha1.VolumeState_VOLUME_AVAILABLE: storagev1alpha1.VolumeStateAvailable,
	volumev1alpha1.VolumeState_VOLUME_ERROR:     storagev1alpha1.VolumeStateError,
}

// ApplyStatus copies state, size and access; secret_data goes into an owned Secret.
func (*adapter) ApplyStatus(ctx context.Context, c client.Client, v *storagev1alpha1.Volume, actual *volumev1alpha1.Volume, runtimeName string, _ bool) error {
	v.Status.VolumeID = runtimeName + "://" + actual.GetMetadata().GetId()
	if s := states[actual.GetStatus().GetState()]; s != v.Status.State {
		v.Status.State, v.Status.LastStateTransitionTime = s, ptrNow()
	}
	if b := actual.GetStatus().GetResources().GetStorageBytes(); b > 0 {
		v.Status.Resources = commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: *resource.NewQuantity(b, resource.BinarySI)}
	}
	acc := actual.GetStatus().GetAccess()
	if acc == nil {
		v.Status.Access = nil
		return nil
	}
	access := &storagev1alpha1.VolumeAccess{Driver: acc.GetDriver(), Handle: acc.GetHandle(), VolumeAttributes: acc.GetAttributes()}
	if len(acc.GetSecretData()) > 0 {
		name := AccessSecretName(v.Name, acc.GetHandle())
		if err := core.EnsureSecret(ctx, c, v, name, map[string]string{labels.VolumeUIDLabel: string(v.UID)}, acc.GetSecretData()); err != nil {
			return err
		}
		access.SecretRef = &corev1.LocalObjectReference{Name: name}
	}
	v.Status.Access = access
	return nil
}

func ptrNow() *metav1.Time { t := metav1.Now(); return &t }

func (*adapter) SetCondition(v *storagev1alpha1.Volume, c conditions.Condition) {
	v.Status.Conditions, _ = conditions.Set(v.Status.Conditions, conditions.Volume, c)
}

// indexEncryptionSecret indexes the pool's volumes by encryption Secret, so a Secret event maps to
// its volumes without scanning the namespace.
const indexEncryptionSecret = "ironfed.volumepoollet/encryption-secret"

func (*adapter) Indexes() []core.Index {
	return []core.Index{{Field: indexEncryptionSecret, Extract: func(o client.Object) []string {
		if v := o.(*storagev1alpha1.Volume); v.Spec.Encryption != nil {
			return []string{v.Spec.Encryption.SecretRef.Name}
		}
		return nil
	}}, {Field: storagev1alpha1.VolumeSnapshotRefNameField, Extract: func(o client.Object) []string {
		if ref := o.(*storagev1alpha1.Volume).Spec.DataSource.VolumeSnapshotRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}}}
}

// Watches re-reconcile volumes waiting for their encryption Secret or the snapshot they restore.
func (*adapter) Watches(c client.Reader) []core.Watch {
	users := func(field string) func(ctx context.Context, obj client.Object) []reconcile.Request {
		return func(ctx context.Context, obj client.Object) []reconcile.Request {
			list := &storagev1alpha1.VolumeList{}
			if err := c.List(ctx, list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{field: obj.GetName()}); err != nil {
				return nil
			}
			out := make([]reconcile.Request, 0, len(list.Items))
			for _, v := range list.Items {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: v.Namespace, Name: v.Name}})
			}
			return out
		}
	}
	return []core.Watch{
		{Object: core.SecretWatch(), Map: users(indexEncryptionSecret)},
		{Object: &storagev1alpha1.VolumeSnapshot{}, Map: users(storagev1alpha1.VolumeSnapshotRefNameField)},
	}
}

func (a *adapter) ListEvents(ctx context.Context, from, to int64) ([]*eventv1alpha1.Event, error) {
	res, err := a.rt.ListEvents(ctx, &volumev1alpha1.ListEventsRequest{Filter: &volumev1alpha1.EventFilter{EventsFromTime: from, EventsToTime: to}})
	return res.GetEvents(), err
}
