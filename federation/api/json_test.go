// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ironfed/ironfed/federation/api"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	ipamv1alpha1 "github.com/ironfed/ironfed/federation/api/ipam/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// Fully populated objects as IronCore would serialize them (field names and
// shapes from IronCore's v1alpha1 API). Each must decode strictly into our
// types and re-encode to the same JSON.
const (
	machineJSON = `{
  "apiVersion": "compute.ironcore.dev/v1alpha1",
  "kind": "Machine",
  "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
  "spec": {
    "machineClassRef": {"name": "x3-xlarge"},
    "machinePoolSelector": {"topology.ironcore.dev/zone": "zone-a"},
    "machinePoolRef": {"name": "pool-a"},
    "power": "On",
    "networkInterfaces": [
      {"name": "primary", "networkInterfaceRef": {"name": "nic-1"}},
      {"name": "secondary", "ephemeral": {"networkInterfaceTemplate": {
        "metadata": {"labels": {"nic": "secondary"}, "annotations": {"a": "b"}},
        "spec": {
          "providerID": "nic://1",
          "networkRef": {"name": "net-1"},
          "machineRef": {"name": "web-1", "uid": "3a6b1f9e-0000-4000-8000-000000000001"},
          "ipFamilies": ["IPv4", "IPv6"],
          "ips": [
            {"value": "10.0.0.1"},
            {"ephemeral": {"prefixTemplate": {"spec": {"ipFamily": "IPv6", "prefixLength": 128, "parentRef": {"name": "root-v6"}}}}}
          ],
          "prefixes": [{"value": "10.1.0.0/24"}],
          "virtualIP": {"ephemeral": {"virtualIPTemplate": {"spec": {"type": "Public", "ipFamily": "IPv4"}}}},
          "attributes": {"vendor": "x"}
        }
      }}}
    ],
    "volumes": [
      {"name": "root", "device": "oda", "volumeRef": {"name": "vol-1"}},
      {"name": "scratch", "emptyDisk": {"sizeLimit": "10Gi"}},
      {"name": "local", "localDisk": {"sizeLimit": "20Gi", "image": "ghcr.io/ironcore-dev/os-images/gardenlinux:1877"}},
      {"name": "data", "device": "odb", "ephemeral": {"volumeTemplate": {
        "metadata": {"labels": {"vol": "data"}},
        "spec": {
          "volumeClassRef": {"name": "fast"},
          "volumePoolSelector": {"topology.ironcore.dev/zone": "zone-a"},
          "resources": {"storage": "1Ti"},
          "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
          "encryption": {"secretRef": {"name": "vol-key"}},
          "dataSource": {"osImage": {"image": "ghcr.io/ironcore-dev/os-images/ubuntu:24.04", "architecture": "amd64"}}
        }
      }}}
    ],
    "ignitionRef": {"name": "web-1-ignition", "key": "ignition.yaml"},
    "efiVars": [{"name": "SecureBoot", "uuid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", "value": "AQ=="}],
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
    "guestConfig": {"hostname": "web-1"}
  },
  "status": {
    "machineID": "libvirt-provider://4f1c",
    "observedGeneration": 3,
    "conditions": [{"type": "Scheduled", "status": "True", "reason": "Scheduled", "message": "bound to pool-a", "lastTransitionTime": "2026-01-02T03:04:05Z"}],
    "state": "Running",
    "networkInterfaces": [{"name": "primary", "handle": "nic-handle", "state": "Attached", "networkInterfaceRef": {"name": "nic-1"}, "lastStateTransitionTime": "2026-01-02T03:04:05Z"}],
    "volumes": [{"name": "root", "handle": "vol-handle", "state": "Attached", "lastStateTransitionTime": "2026-01-02T03:04:05Z", "volumeRef": {"name": "vol-1"}}]
  }
}`

	machineClassJSON = `{
  "apiVersion": "compute.ironcore.dev/v1alpha1",
  "kind": "MachineClass",
  "metadata": {"name": "x3-xlarge"},
  "capabilities": {"cpu": "4", "memory": "16Gi"}
}`

	machinePoolJSON = `{
  "apiVersion": "compute.ironcore.dev/v1alpha1",
  "kind": "MachinePool",
  "metadata": {"name": "pool-a", "labels": {"topology.ironcore.dev/zone": "zone-a"}},
  "spec": {
    "providerID": "ironfed://member-a/pool-a",
    "taints": [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}]
  },
  "status": {
    "state": "Ready",
    "conditions": [{"type": "Ready", "status": "True", "reason": "MemberReady", "message": "member cluster reachable", "observedGeneration": 2, "lastUpdateTime": "2026-01-02T03:04:05Z", "lastTransitionTime": "2026-01-02T03:04:05Z"}],
    "availableMachineClasses": [{"name": "x3-xlarge"}],
    "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}],
    "daemonEndpoints": {"machinepoolletEndpoint": {"port": 20250}},
    "capacity": {"cpu": "64", "memory": "256Gi", "class/machine.x3-xlarge": "16"},
    "allocatable": {"cpu": "60", "memory": "240Gi", "class/machine.x3-xlarge": "15"}
  }
}`

	volumeJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "Volume",
  "metadata": {"name": "vol-1", "namespace": "default"},
  "spec": {
    "volumeClassRef": {"name": "fast"},
    "volumePoolSelector": {"topology.ironcore.dev/zone": "zone-a"},
    "volumePoolRef": {"name": "vpool-a"},
    "claimRef": {"name": "web-1", "uid": "3a6b1f9e-0000-4000-8000-000000000001"},
    "resources": {"storage": "100Gi"},
    "tolerations": [{"key": "dedicated", "operator": "Exists"}],
    "encryption": {"secretRef": {"name": "vol-key"}},
    "dataSource": {"volumeSnapshotRef": {"name": "snap-1"}}
  },
  "status": {
    "volumeID": "ceph://pool/vol-1",
    "state": "Available",
    "lastStateTransitionTime": "2026-01-02T03:04:05Z",
    "access": {"secretRef": {"name": "vol-1-access"}, "driver": "ceph", "handle": "pool/vol-1", "volumeAttributes": {"monitors": "10.0.0.1:6789"}},
    "conditions": [{"type": "Scheduled", "status": "True", "reason": "Scheduled", "message": "bound to vpool-a", "observedGeneration": 1, "lastTransitionTime": "2026-01-02T03:04:05Z"}],
    "resources": {"storage": "100Gi"}
  }
}`

	unclaimableVolumeJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "Volume",
  "metadata": {"name": "vol-2", "namespace": "default"},
  "spec": {"volumeClassRef": {"name": "fast"}, "resources": {"storage": "1Gi"}, "unclaimable": true, "dataSource": {}}
}`

	volumeClassJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "VolumeClass",
  "metadata": {"name": "fast"},
  "capabilities": {"tps": "100Mi", "iops": "500"},
  "resizePolicy": "ExpandOnly"
}`

	volumePoolJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "VolumePool",
  "metadata": {"name": "vpool-a"},
  "spec": {"providerID": "ironfed://member-a/vpool-a", "taints": [{"key": "k", "effect": "NoExecute"}]},
  "status": {
    "state": "Available",
    "conditions": [{"type": "Ready", "status": "True", "reason": "MemberReady", "message": "", "observedGeneration": 1, "lastTransitionTime": "2026-01-02T03:04:05Z"}],
    "availableVolumeClasses": [{"name": "fast"}],
    "capacity": {"storage": "10Ti", "class/volume.fast": "10Ti"},
    "allocatable": {"storage": "9Ti", "class/volume.fast": "9Ti"}
  }
}`

	bucketJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "Bucket",
  "metadata": {"name": "logs", "namespace": "default"},
  "spec": {
    "bucketClassRef": {"name": "standard"},
    "bucketPoolSelector": {"topology.ironcore.dev/region": "eu"},
    "bucketPoolRef": {"name": "bpool-a"},
    "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}]
  },
  "status": {
    "bucketID": "rgw://logs",
    "state": "Available",
    "lastStateTransitionTime": "2026-01-02T03:04:05Z",
    "access": {"secretRef": {"name": "logs-access"}, "endpoint": "https://s3.example.com/logs"},
    "conditions": [{"type": "Scheduled", "status": "True", "reason": "Scheduled", "message": "bound to bpool-a", "observedGeneration": 1, "lastTransitionTime": "2026-01-02T03:04:05Z"}]
  }
}`

	bucketClassJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "BucketClass",
  "metadata": {"name": "standard"},
  "capabilities": {"tps": "100Mi", "iops": "100"}
}`

	// conditions, capacity and allocatable are ironfed additions.
	bucketPoolJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "BucketPool",
  "metadata": {"name": "bpool-a"},
  "spec": {"providerID": "ironfed://member-a/bpool-a", "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
  "status": {
    "state": "Available",
    "availableBucketClasses": [{"name": "standard"}],
    "conditions": [{"type": "Ready", "status": "True", "reason": "MemberReady", "message": "ok", "observedGeneration": 4, "lastUpdateTime": "2026-01-02T03:04:05Z", "lastTransitionTime": "2026-01-02T03:04:05Z"}],
    "capacity": {"class/bucket.standard": "900"},
    "allocatable": {"class/bucket.standard": "898"}
  }
}`

	networkJSON = `{
  "apiVersion": "networking.ironcore.dev/v1alpha1",
  "kind": "Network",
  "metadata": {"name": "net-1", "namespace": "default"},
  "spec": {
    "providerID": "net://1",
    "peerings": [{"name": "to-net-2", "networkRef": {"namespace": "other", "name": "net-2"}, "prefixes": [{"name": "p1", "prefix": "10.0.0.0/16"}, {"name": "p2", "prefixRef": {"name": "prefix-2"}}]}],
    "incomingPeerings": [{"namespace": "other", "name": "net-2", "uid": "3a6b1f9e-0000-4000-8000-000000000002"}]
  },
  "status": {
    "state": "Available",
    "peerings": [{"name": "to-net-2", "state": "Ready", "prefixes": [{"name": "p1", "prefix": "10.0.0.0/16"}]}]
  }
}`

	networkInterfaceJSON = `{
  "apiVersion": "networking.ironcore.dev/v1alpha1",
  "kind": "NetworkInterface",
  "metadata": {"name": "nic-1", "namespace": "default"},
  "spec": {
    "providerID": "nic://1",
    "networkRef": {"name": "net-1"},
    "machineRef": {"name": "web-1", "uid": "3a6b1f9e-0000-4000-8000-000000000001"},
    "ipFamilies": ["IPv4"],
    "ips": [{"value": "10.0.0.1"}],
    "prefixes": [{"ephemeral": {"prefixTemplate": {"spec": {"ipFamily": "IPv4", "prefixLength": 28}}}}],
    "virtualIP": {"virtualIPRef": {"name": "vip-1"}},
    "attributes": {"k": "v"}
  },
  "status": {
    "state": "Available",
    "lastStateTransitionTime": "2026-01-02T03:04:05Z",
    "ips": ["10.0.0.1"],
    "prefixes": ["10.1.0.0/28"],
    "virtualIP": "192.0.2.1"
  }
}`
)

type fixture struct {
	name string
	doc  string
	obj  runtime.Object
}

func fixtures() []fixture {
	return []fixture{
		{"Machine", machineJSON, &computev1alpha1.Machine{}},
		{"MachineClass", machineClassJSON, &computev1alpha1.MachineClass{}},
		{"MachinePool", machinePoolJSON, &computev1alpha1.MachinePool{}},
		{"Volume", volumeJSON, &storagev1alpha1.Volume{}},
		{"UnclaimableVolume", unclaimableVolumeJSON, &storagev1alpha1.Volume{}},
		{"VolumeClass", volumeClassJSON, &storagev1alpha1.VolumeClass{}},
		{"VolumePool", volumePoolJSON, &storagev1alpha1.VolumePool{}},
		{"Bucket", bucketJSON, &storagev1alpha1.Bucket{}},
		{"BucketClass", bucketClassJSON, &storagev1alpha1.BucketClass{}},
		{"BucketPool", bucketPoolJSON, &storagev1alpha1.BucketPool{}},
		{"Network", networkJSON, &networkingv1alpha1.Network{}},
		{"NetworkInterface", networkInterfaceJSON, &networkingv1alpha1.NetworkInterface{}},
		{"VolumeSnapshot", volumeSnapshotJSON, &storagev1alpha1.VolumeSnapshot{}},
		{"Prefix", prefixJSON, &ipamv1alpha1.Prefix{}},
	}
}

// IronCore's VolumeSnapshot (storage) and Prefix (ipam) as it serializes them.
const (
	volumeSnapshotJSON = `{
  "apiVersion": "storage.ironcore.dev/v1alpha1",
  "kind": "VolumeSnapshot",
  "metadata": {"name": "snap-1", "namespace": "default"},
  "spec": {"volumeRef": {"name": "vol-1"}},
  "status": {"snapshotID": "ceph://abc", "state": "Ready", "lastStateTransitionTime": "2024-01-01T00:00:00Z", "size": "10Gi"}
}`
	prefixJSON = `{
  "apiVersion": "ipam.ironcore.dev/v1alpha1",
  "kind": "Prefix",
  "metadata": {"name": "root-v4", "namespace": "default"},
  "spec": {"ipFamily": "IPv4", "prefix": "10.0.0.0/8", "prefixLength": 8, "parentRef": {"name": "top"},
    "parentSelector": {"matchLabels": {"a": "b"}}},
  "status": {"phase": "Allocated", "lastPhaseTransitionTime": "2024-01-01T00:00:00Z", "used": ["10.0.0.0/24"]}
}`
)

// decodeStrict decodes doc into obj, failing on any field obj does not have.
func decodeStrict(t *testing.T, doc string, obj any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
}

// normalize decodes JSON into generic values and drops nulls and empty
// objects, which encoding/json emits for unset non-pointer structs exactly as
// IronCore's types do.
func normalize(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return prune(v)
}

func prune(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			e = prune(e)
			if e == nil {
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue
			}
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = prune(e)
		}
		return out
	default:
		return v
	}
}

// keyPaths lists every object key in v as a dotted path; list items add "[]".
func keyPaths(v any, prefix string, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			into[p] = true
			keyPaths(e, p, into)
		}
	case []any:
		for _, e := range v {
			keyPaths(e, prefix+"[]", into)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			decodeStrict(t, f.doc, f.obj)
			out, err := json.Marshal(f.obj)
			if err != nil {
				t.Fatal(err)
			}
			want, got := normalize(t, []byte(f.doc)), normalize(t, out)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("re-encoded JSON differs\nwant: %s\ngot:  %s", mustJSON(t, want), mustJSON(t, got))
			}

			// Decoding the re-encoded JSON yields the same object.
			again := f.obj.DeepCopyObject()
			decodeStrict(t, string(out), again)
			out2, err := json.Marshal(again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("second round trip differs\nfirst:  %s\nsecond: %s", out, out2)
			}
		})
	}
}

// TestJSONKeys pins the JSON names of fields built from Go values (not from
// JSON), so a wrong struct tag cannot hide behind a matching fixture.
func TestJSONKeys(t *testing.T) {
	cases := []struct {
		obj  runtime.Object
		doc  string
		keys []string
	}{
		{&computev1alpha1.Machine{}, machineJSON, []string{
			"spec.machineClassRef.name", "spec.machinePoolSelector", "spec.machinePoolRef.name", "spec.power",
			"spec.networkInterfaces[].name", "spec.networkInterfaces[].networkInterfaceRef.name",
			"spec.networkInterfaces[].ephemeral.networkInterfaceTemplate.spec.networkRef.name",
			"spec.networkInterfaces[].ephemeral.networkInterfaceTemplate.spec.ips[].ephemeral.prefixTemplate",
			"spec.networkInterfaces[].ephemeral.networkInterfaceTemplate.spec.virtualIP.ephemeral.virtualIPTemplate",
			"spec.volumes[].name", "spec.volumes[].device", "spec.volumes[].volumeRef.name",
			"spec.volumes[].emptyDisk.sizeLimit", "spec.volumes[].localDisk.sizeLimit", "spec.volumes[].localDisk.image",
			"spec.volumes[].ephemeral.volumeTemplate.metadata.labels",
			"spec.volumes[].ephemeral.volumeTemplate.spec.resources.storage",
			"spec.volumes[].ephemeral.volumeTemplate.spec.dataSource.osImage.architecture",
			"spec.ignitionRef.name", "spec.ignitionRef.key", "spec.efiVars[].uuid", "spec.tolerations[].operator",
			"spec.guestConfig.hostname",
			"status.machineID", "status.observedGeneration", "status.state", "status.conditions[].lastTransitionTime",
			"status.networkInterfaces[].networkInterfaceRef.name", "status.networkInterfaces[].lastStateTransitionTime",
			"status.volumes[].handle", "status.volumes[].volumeRef.name",
		}},
		{&computev1alpha1.MachinePool{}, machinePoolJSON, []string{
			"spec.providerID", "spec.taints[].effect", "status.state", "status.conditions[].lastUpdateTime",
			"status.conditions[].observedGeneration", "status.availableMachineClasses[].name",
			"status.addresses[].address", "status.daemonEndpoints.machinepoolletEndpoint.port",
			"status.capacity.cpu", "status.allocatable.class/machine.x3-xlarge",
		}},
		{&computev1alpha1.MachineClass{}, machineClassJSON, []string{"capabilities.cpu", "capabilities.memory"}},
		{&storagev1alpha1.Volume{}, volumeJSON, []string{
			"spec.volumeClassRef.name", "spec.volumePoolSelector", "spec.volumePoolRef.name", "spec.claimRef.uid",
			"spec.resources.storage", "spec.tolerations[].key", "spec.encryption.secretRef.name",
			"spec.dataSource.volumeSnapshotRef.name",
			"status.volumeID", "status.state", "status.lastStateTransitionTime", "status.access.secretRef.name",
			"status.access.driver", "status.access.handle", "status.access.volumeAttributes",
			"status.conditions[].type", "status.resources.storage",
		}},
		{&storagev1alpha1.Volume{}, unclaimableVolumeJSON, []string{"spec.unclaimable"}},
		{&storagev1alpha1.VolumeClass{}, volumeClassJSON, []string{"capabilities.tps", "capabilities.iops", "resizePolicy"}},
		{&storagev1alpha1.VolumePool{}, volumePoolJSON, []string{"status.availableVolumeClasses[].name", "status.capacity.storage", "status.allocatable.class/volume.fast"}},
		{&storagev1alpha1.Bucket{}, bucketJSON, []string{
			"spec.bucketClassRef.name", "spec.bucketPoolSelector", "spec.bucketPoolRef.name", "spec.tolerations[].value",
			"status.bucketID", "status.state", "status.access.secretRef.name", "status.access.endpoint", "status.conditions[].status",
		}},
		{&storagev1alpha1.BucketPool{}, bucketPoolJSON, []string{
			"status.availableBucketClasses[].name", "status.conditions[].type", "status.capacity.class/bucket.standard",
			"status.allocatable.class/bucket.standard",
		}},
		{&networkingv1alpha1.Network{}, networkJSON, []string{
			"spec.providerID", "spec.peerings[].networkRef.namespace", "spec.peerings[].prefixes[].prefixRef.name",
			"spec.incomingPeerings[].uid", "status.peerings[].prefixes[].prefix",
		}},
		{&networkingv1alpha1.NetworkInterface{}, networkInterfaceJSON, []string{
			"spec.networkRef.name", "spec.machineRef.uid", "spec.ipFamilies", "spec.ips[].value",
			"spec.prefixes[].ephemeral.prefixTemplate", "spec.virtualIP.virtualIPRef.name", "spec.attributes",
			"status.ips", "status.prefixes", "status.virtualIP",
		}},
	}
	for _, c := range cases {
		decodeStrict(t, c.doc, c.obj)
		// Round-trip through the typed object: keys must come out of our struct tags.
		typed := c.obj.DeepCopyObject()
		out, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		paths := map[string]bool{}
		keyPaths(normalize(t, out), "", paths)
		for _, k := range c.keys {
			if !paths[k] {
				t.Errorf("%T: JSON lacks %q; has:\n%s", c.obj, k, strings.Join(sortedKeys(paths), "\n"))
			}
		}
	}
}

func TestSchemeRegistersAllKinds(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := api.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures() {
		gvks, _, err := scheme.ObjectKinds(f.obj)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(f.doc), &tm); err != nil {
			t.Fatal(err)
		}
		if len(gvks) != 1 || gvks[0].GroupVersion().String() != tm.APIVersion || gvks[0].Kind != tm.Kind {
			t.Errorf("%s: registered as %v, want %s %s", f.name, gvks, tm.APIVersion, tm.Kind)
		}
		if _, err := scheme.New(gvks[0].GroupVersion().WithKind(gvks[0].Kind + "List")); err != nil {
			t.Errorf("%s: list kind not registered: %v", f.name, err)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
