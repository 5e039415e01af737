package machinebroker

import (
	"bytes"
	"context"
	"encoding/json"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// upsertSecret creates the machine's Secret or replaces its data.
func (b *Broker) upsertSecret(ctx context.Context, owner *computev1alpha1.Machine, data map[string][]byte) error {
	s := b.secretFor(owner, data)
	defer b.WaitCached(ctx, s) // reads need the secret bytes
	return b.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		err := c.Create(ctx, s)
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		patchData := map[string]any{IgnitionKey: nil, VolumeSecretsKey: nil}
		for k, v := range data {
			patchData[k] = v
		}
		raw, err := json.Marshal(map[string]any{"data": patchData})
		if err != nil {
			return err
		}
		return c.Patch(ctx, s, client.RawPatch(types.MergePatchType, raw))
	})
}

// changeSpec applies mutate to the IRI spec of machine id and writes the
// result: the machine's Secret when its secret bytes changed, then the
// machine (spec lists and spec annotation, merge patch with a
// resourceVersion precondition, raising the IRI generation). An unchanged
// spec writes nothing.
func (b *Broker) changeSpec(ctx context.Context, id string, mutate func(spec *machinev1alpha1.MachineSpec) error) error {
	return b.store.Update(ctx, id, func(cur *computev1alpha1.Machine) (map[string]any, error) {
		old, err := iriSpec(b.Log, cur, func(name string) (map[string][]byte, error) { return b.SecretDataLive(ctx, name) })
		if err != nil {
			return nil, err
		}
		spec := proto.Clone(old).(*machinev1alpha1.MachineSpec)
		if err := mutate(spec); err != nil {
			return nil, err
		}
		if proto.Equal(old, spec) {
			return nil, nil // no change of the desired state: no write, the IRI generation stays
		}
		oldData, _ := secretData(old)
		data, err := secretData(spec)
		if err != nil {
			return nil, common.Invalidf("encode secret data: %v", err)
		}
		hadSecret := cur.Annotations[SecretAnnotation] != ""
		if (data != nil || hadSecret) && !sameData(oldData, data) {
			if err := b.upsertSecret(ctx, cur, data); err != nil {
				return nil, b.D.ToStatus("write secret of machine "+id, err)
			}
		}
		dm := cur.DeepCopy()
		if err := applySpec(dm, spec, data != nil || hadSecret); err != nil {
			return nil, common.Invalidf("encode spec: %v", err)
		}
		ann := map[string]any{SpecAnnotation: dm.Annotations[SpecAnnotation]}
		if v, ok := dm.Annotations[SecretAnnotation]; ok {
			ann[SecretAnnotation] = v
		}
		return map[string]any{
			"metadata": map[string]any{"annotations": ann},
			"spec": map[string]any{
				"volumes":           dm.Spec.Volumes,
				"networkInterfaces": dm.Spec.NetworkInterfaces,
				"ignitionRef":       dm.Spec.IgnitionRef,
			},
		}, nil
	})
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func findVolume(spec *machinev1alpha1.MachineSpec, name string) int {
	for i, v := range spec.Volumes {
		if v.Name == name {
			return i
		}
	}
	return -1
}

func findNIC(spec *machinev1alpha1.MachineSpec, name string) int {
	for i, n := range spec.NetworkInterfaces {
		if n.Name == name {
			return i
		}
	}
	return -1
}

func (b *Broker) AttachVolume(ctx context.Context, req *machinev1alpha1.AttachVolumeRequest) (*machinev1alpha1.AttachVolumeResponse, error) {
	id, v := req.GetMachineId(), req.GetVolume()
	if err := common.CheckID("machine_id", id); err != nil {
		return nil, err
	}
	if err := checkVolume(v); err != nil {
		return nil, err
	}
	cur, err := b.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if spec := b.names(cur); findVolume(spec, v.Name) >= 0 {
		return nil, common.AlreadyExistsf("machine %s already has a volume named %q; detach it first or use UpdateVolume", id, v.Name)
	}
	var sub client.Object
	if v.Connection != nil {
		if sub, err = b.volumeFor(cur, v); err != nil {
			return nil, common.Invalidf("encode volume connection: %v", err)
		}
		if err := b.createVolumeSecret(ctx, cur, v); err != nil {
			return nil, b.D.ToStatus("create the secret of volume "+v.Name+" of machine "+id, err)
		}
		if err := b.createSub(ctx, sub); err != nil {
			return nil, b.D.ToStatus("create volume "+v.Name+" of machine "+id, err)
		}
	}
	err = b.changeSpec(ctx, id, func(spec *machinev1alpha1.MachineSpec) error {
		if findVolume(spec, v.Name) >= 0 {
			return common.AlreadyExistsf("machine %s already has a volume named %q; detach it first or use UpdateVolume", id, v.Name)
		}
		spec.Volumes = append(spec.Volumes, v)
		return nil
	})
	if err != nil {
		if sub != nil {
			_ = b.store.DeleteSub(context.WithoutCancel(ctx), sub)
		}
		return nil, err
	}
	return &machinev1alpha1.AttachVolumeResponse{}, nil
}

func (b *Broker) UpdateVolume(ctx context.Context, req *machinev1alpha1.UpdateVolumeRequest) (*machinev1alpha1.UpdateVolumeResponse, error) {
	id, v := req.GetMachineId(), req.GetVolume()
	if err := common.CheckID("machine_id", id); err != nil {
		return nil, err
	}
	if err := checkVolume(v); err != nil {
		return nil, err
	}
	cur, err := b.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if findVolume(b.names(cur), v.Name) < 0 {
		return nil, common.NotFoundf("machine %s has no volume named %q", id, v.Name)
	}
	if v.Connection != nil {
		sub, err := b.volumeFor(cur, v)
		if err != nil {
			return nil, common.Invalidf("encode volume connection: %v", err)
		}
		if err := b.createVolumeSecret(ctx, cur, v); err != nil {
			return nil, b.D.ToStatus("update the secret of volume "+v.Name+" of machine "+id, err)
		}
		if err := b.createSub(ctx, sub); err != nil {
			return nil, b.D.ToStatus("update volume "+v.Name+" of machine "+id, err)
		}
	}
	err = b.changeSpec(ctx, id, func(spec *machinev1alpha1.MachineSpec) error {
		i := findVolume(spec, v.Name)
		if i < 0 {
			return common.NotFoundf("machine %s has no volume named %q", id, v.Name)
		}
		spec.Volumes[i] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &machinev1alpha1.UpdateVolumeResponse{}, nil
}

func (b *Broker) DetachVolume(ctx context.Context, req *machinev1alpha1.DetachVolumeRequest) (*machinev1alpha1.DetachVolumeResponse, error) {
	err := b.detach(ctx, req.GetMachineId(), req.GetName(), "volume", &storagev1alpha1.Volume{}, func(spec *machinev1alpha1.MachineSpec, name string) bool {
		i := findVolume(spec, name)
		if i >= 0 {
			spec.Volumes = append(spec.Volumes[:i], spec.Volumes[i+1:]...)
		}
		return i >= 0
	})
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: common.SubName(req.GetMachineId(), req.GetName()), Namespace: b.Namespace}}
	if err := b.store.DeleteSub(ctx, secret); err != nil {
		b.Log.Error(err, "Deleting the secret of a detached volume failed; the garbage collector removes it with the machine", "id", req.GetMachineId(), "name", req.GetName())
	}
	return &machinev1alpha1.DetachVolumeResponse{}, nil
}

// createVolumeSecret creates or updates the Secret of a connection volume with secret_data.
func (b *Broker) createVolumeSecret(ctx context.Context, owner *computev1alpha1.Machine, v *machinev1alpha1.Volume) error {
	if s := b.volumeSecretFor(owner, v); s != nil {
		return b.store.CreateSub(ctx, s)
	}
	return nil
}

// detach removes the named entry from the machine's spec (remove reports whether it was there)
// and then deletes its downstream sub-object (sub: an empty object of its kind).
func (b *Broker) detach(ctx context.Context, id, name, what string, sub client.Object,
	remove func(*machinev1alpha1.MachineSpec, string) bool) error {
	if err := common.CheckID("machine_id", id); err != nil {
		return err
	}
	if name == "" {
		return common.Invalidf("name is required")
	}
	if err := b.changeSpec(ctx, id, func(spec *machinev1alpha1.MachineSpec) error {
		if !remove(spec, name) {
			return common.NotFoundf("machine %s has no %s named %q", id, what, name)
		}
		return nil
	}); err != nil {
		return err
	}
	sub.SetName(common.SubName(id, name))
	sub.SetNamespace(b.Namespace)
	if err := b.store.DeleteSub(ctx, sub); err != nil {
		b.Log.Error(err, "Deleting the downstream object of a detached "+what+" failed; the garbage collector removes it with the machine", "id", id, "name", name)
	}
	return nil
}

func (b *Broker) AttachNetworkInterface(ctx context.Context, req *machinev1alpha1.AttachNetworkInterfaceRequest) (*machinev1alpha1.AttachNetworkInterfaceResponse, error) {
	id, n := req.GetMachineId(), req.GetNetworkInterface()
	if err := common.CheckID("machine_id", id); err != nil {
		return nil, err
	}
	if err := checkNIC(n); err != nil {
		return nil, err
	}
	cur, err := b.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if findNIC(b.names(cur), n.Name) >= 0 {
		return nil, common.AlreadyExistsf("machine %s already has a network interface named %q; detach it first", id, n.Name)
	}
	sub := b.nicFor(cur, n)
	if err := b.createSub(ctx, sub); err != nil {
		return nil, b.D.ToStatus("create network interface "+n.Name+" of machine "+id, err)
	}
	err = b.changeSpec(ctx, id, func(spec *machinev1alpha1.MachineSpec) error {
		if findNIC(spec, n.Name) >= 0 {
			return common.AlreadyExistsf("machine %s already has a network interface named %q; detach it first", id, n.Name)
		}
		spec.NetworkInterfaces = append(spec.NetworkInterfaces, n)
		return nil
	})
	if err != nil {
		_ = b.store.DeleteSub(context.WithoutCancel(ctx), sub)
		return nil, err
	}
	return &machinev1alpha1.AttachNetworkInterfaceResponse{}, nil
}

func (b *Broker) DetachNetworkInterface(ctx context.Context, req *machinev1alpha1.DetachNetworkInterfaceRequest) (*machinev1alpha1.DetachNetworkInterfaceResponse, error) {
	err := b.detach(ctx, req.GetMachineId(), req.GetName(), "network interface", &networkingv1alpha1.NetworkInterface{}, func(spec *machinev1alpha1.MachineSpec, name string) bool {
		i := findNIC(spec, name)
		if i >= 0 {
			spec.NetworkInterfaces = append(spec.NetworkInterfaces[:i], spec.NetworkInterfaces[i+1:]...)
		}
		return i >= 0
	})
	if err != nil {
		return nil, err
	}
	return &machinev1alpha1.DetachNetworkInterfaceResponse{}, nil
}
