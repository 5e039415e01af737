// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/poollet/core"
)

// Reasons of a False PrerequisitesMet condition, in the order they are checked.
const (
	ReasonWaitingForIgnition         = "WaitingForIgnitionSecret"
	ReasonWaitingForVolumes          = "WaitingForVolumes"
	ReasonWaitingForNetworkInterface = "WaitingForNetworkInterfaces"
)

// VolumeName is the Volume object behind a Machine volume (ephemeral ones are <machine>-<name>).
func VolumeName(m *computev1alpha1.Machine, v computev1alpha1.Volume) string {
	switch {
	case v.VolumeRef != nil:
		return v.VolumeRef.Name
	case v.Ephemeral != nil:
		return m.Name + "-" + v.Name
	}
	return ""
}

// NetworkInterfaceName is the NetworkInterface object behind a Machine NIC.
func NetworkInterfaceName(m *computev1alpha1.Machine, n computev1alpha1.NetworkInterface) string {
	if n.NetworkInterfaceRef != nil {
		return n.NetworkInterfaceRef.Name
	}
	return m.Name + "-" + n.Name
}

// prepare builds the IRI machine and says what it still waits for.
func prepare(ctx context.Context, c client.Reader, m *computev1alpha1.Machine) (*machinev1alpha1.Machine, *core.Waiting, error) {
	out := &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{},
		Spec: &machinev1alpha1.MachineSpec{
			Power: powerOf(m.Spec.Power),
			Class: m.Spec.MachineClassRef.Name,
		},
	}
	if m.Spec.GuestConfig != nil {
		out.Spec.GuestConfig = &machinev1alpha1.GuestConfig{Hostname: m.Spec.GuestConfig.Hostname}
	}
	var waits []string
	reason := ""
	wait := func(r, msg string) {
		if reason == "" {
			reason = r
		}
		waits = append(waits, msg)
	}
	if ref := m.Spec.IgnitionRef; ref != nil {
		s, err := getSecret(ctx, c, m.Namespace, ref.Name)
		switch {
		case err != nil:
			return nil, nil, err
		case s == nil:
			wait(ReasonWaitingForIgnition, fmt.Sprintf("ignition Secret %s does not exist", ref.Name))
		default:
			key := ref.Key
			if key == "" {
				key = computev1alpha1.DefaultIgnitionKey
			}
			data, ok := s.Data[key]
			if !ok {
				// Booting without the ignition the user meant would be worse than waiting.
				wait(ReasonWaitingForIgnition, fmt.Sprintf("ignition Secret %s has no key %q (keys: %s)", ref.Name, key, strings.Join(sortedKeys(s.Data), ", ")))
				break
			}
			out.Spec.IgnitionData = data
		}
	}
	var volWaits []string
	for _, v := range m.Spec.Volumes {
		iv := &machinev1alpha1.Volume{Name: v.Name}
		if v.Device != nil {
			iv.Device = *v.Device
		}
		switch {
		case v.EmptyDisk != nil:
			iv.LocalDisk = &machinev1alpha1.LocalDisk{SizeBytes: quantityBytes(v.EmptyDisk.SizeLimit)}
		case v.LocalDisk != nil:
			iv.LocalDisk = &machinev1alpha1.LocalDisk{SizeBytes: quantityBytes(v.LocalDisk.SizeLimit)}
			if v.LocalDisk.Image != "" {
				iv.LocalDisk.Image = &machinev1alpha1.ImageSpec{Image: v.LocalDisk.Image}
			}
		default:
			conn, msg, err := volumeConnection(ctx, c, m, VolumeName(m, v))
			if err != nil {
				return nil, nil, err
			}
			if msg != "" {
				volWaits = append(volWaits, msg)
				continue
			}
			iv.Connection = conn
		}
		out.Spec.Volumes = append(out.Spec.Volumes, iv)
	}
	if len(volWaits) > 0 {
		wait(ReasonWaitingForVolumes, strings.Join(volWaits, "; "))
	}
	var nicWaits []string
	for _, n := range m.Spec.NetworkInterfaces {
		name := NetworkInterfaceName(m, n)
		nic := &networkingv1alpha1.NetworkInterface{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: name}, nic); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, nil, err
			}
			nicWaits = append(nicWaits, fmt.Sprintf("network interface %s does not exist", name))
			continue
		}
		in := &machinev1alpha1.NetworkInterface{Name: n.Name, NetworkId: nic.Spec.NetworkRef.Name, Attributes: nic.Spec.Attributes}
		for _, ip := range nic.Status.IPs {
			in.Ips = append(in.Ips, string(ip))
		}
		if len(in.Ips) == 0 {
			for _, ip := range nic.Spec.IPs {
				if ip.Value != nil {
					in.Ips = append(in.Ips, string(*ip.Value))
				}
			}
		}
		out.Spec.NetworkInterfaces = append(out.Spec.NetworkInterfaces, in)
	}
	if len(nicWaits) > 0 {
		wait(ReasonWaitingForNetworkInterface, strings.Join(nicWaits, "; "))
	}
	if reason != "" {
		return out, &core.Waiting{Reason: reason, Message: "Waiting: " + strings.Join(waits, "; ")}, nil
	}
	return out, nil, nil
}

// volumeConnection returns how to reach an Available volume claimed by m, or a message saying
// what is missing.
func volumeConnection(ctx context.Context, c client.Reader, m *computev1alpha1.Machine, name string) (*machinev1alpha1.VolumeConnection, string, error) {
	ns := m.Namespace
	vol := &storagev1alpha1.Volume{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vol); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("volume %s does not exist", name), nil
		}
		return nil, "", err
	}
	switch claim := vol.Spec.ClaimRef; {
	case vol.Spec.Unclaimable:
		// Shared by design.
	case claim == nil:
		return nil, fmt.Sprintf("volume %s is not claimed by this machine yet", name), nil
	case claim.UID != m.UID:
		// Exclusive: the controller-manager passes the claim on when its holder lets go.
		return nil, fmt.Sprintf("volume %s is claimed by Machine %s", name, claim.Name), nil
	}
	access := vol.Status.Access
	if vol.Status.State != storagev1alpha1.VolumeStateAvailable || access == nil {
		state := vol.Status.State
		if state == "" {
			state = "not yet reported"
		}
		return nil, fmt.Sprintf("volume %s is not Available (state %s)", name, state), nil
	}
	conn := &machinev1alpha1.VolumeConnection{Driver: access.Driver, Handle: access.Handle, Attributes: access.VolumeAttributes}
	if q, ok := vol.Status.Resources[commonv1alpha1.ResourceStorage]; ok {
		conn.EffectiveStorageBytes = q.Value()
	}
	if access.SecretRef != nil {
		s, err := getSecret(ctx, c, ns, access.SecretRef.Name)
		if err != nil {
			return nil, "", err
		}
		if s == nil {
			return nil, fmt.Sprintf("access Secret %s of volume %s does not exist", access.SecretRef.Name, name), nil
		}
		conn.SecretData = s.Data
	}
	return conn, "", nil
}

func getSecret(ctx context.Context, c client.Reader, ns, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return s, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) == 0 {
		return []string{"none"}
	}
	return keys
}
