package machinebroker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/go-logr/logr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// Annotations and Secret keys of the machine mapping (docs/brokers.md).
const (
	// SpecAnnotation holds the IRI machine spec without its secret bytes
	// (ignition, volume secret and encryption data), as protobuf JSON.
	SpecAnnotation = "broker.ironfed.dev/machine-spec"
	// ConnectionAnnotation on a downstream Volume holds the IRI volume
	// connection without its secret bytes, as protobuf JSON.
	ConnectionAnnotation = "broker.ironfed.dev/volume-connection"
	// SecretAnnotation names the machine's Secret (ignition and volume
	// secrets) when it has one.
	SecretAnnotation = "broker.ironfed.dev/secret"
	// IgnitionKey holds the ignition data in the machine's Secret.
	IgnitionKey = computev1alpha1.DefaultIgnitionKey
	// VolumeSecretsKey holds, as JSON, each connection's secret_data and
	// encryption_data by IRI volume name in the machine's Secret.
	VolumeSecretsKey = "volume-secrets.json"
)

type volumeSecrets struct {
	SecretData     map[string][]byte `json:"secretData,omitempty"`
	EncryptionData map[string][]byte `json:"encryptionData,omitempty"`
}

// attachName is the downstream name of an IRI volume or network interface
// attachment: the IRI name when it is a DNS subdomain, else a hash of it. A
// valid name that looks like a hash is hashed too, so two distinct IRI names
// never map to one downstream name.
func attachName(name string) string {
	if len(validation.IsDNS1123Subdomain(name)) == 0 && !hashedName.MatchString(name) {
		return name
	}
	h := sha256.Sum256([]byte(name))
	return "x" + hex.EncodeToString(h[:16])
}

var hashedName = regexp.MustCompile(`^x[0-9a-f]{32}$`)

// stripped returns spec without secret bytes, for the spec annotation.
func stripped(spec *machinev1alpha1.MachineSpec) *machinev1alpha1.MachineSpec {
	s := proto.Clone(spec).(*machinev1alpha1.MachineSpec)
	s.IgnitionData = nil
	s.Class = ""
	s.Power = 0
	for _, v := range s.Volumes {
		if v.Connection != nil {
			v.Connection.SecretData, v.Connection.EncryptionData = nil, nil
		}
	}
	return s
}

// secretData is the content of the machine's Secret for spec; nil when
// spec has no secret bytes.
func secretData(spec *machinev1alpha1.MachineSpec) (map[string][]byte, error) {
	data := map[string][]byte{}
	if len(spec.IgnitionData) > 0 {
		data[IgnitionKey] = spec.IgnitionData
	}
	vs := map[string]volumeSecrets{}
	for _, v := range spec.Volumes {
		if c := v.GetConnection(); c != nil && (len(c.SecretData) > 0 || len(c.EncryptionData) > 0) {
			vs[v.Name] = volumeSecrets{SecretData: c.SecretData, EncryptionData: c.EncryptionData}
		}
	}
	if len(vs) > 0 {
		b, err := json.Marshal(vs)
		if err != nil {
			return nil, err
		}
		data[VolumeSecretsKey] = b
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}

func toPower(p machinev1alpha1.Power) computev1alpha1.Power {
	if p == machinev1alpha1.Power_POWER_OFF {
		return computev1alpha1.PowerOff
	}
	return computev1alpha1.PowerOn
}

// applySpec sets the downstream fields of m that stand for the IRI spec
// (everything but class, pool pinning and power).
func applySpec(m *computev1alpha1.Machine, spec *machinev1alpha1.MachineSpec, hasSecret bool) error {
	id := m.Name
	m.Spec.Volumes, m.Spec.NetworkInterfaces = nil, nil
	for _, v := range spec.Volumes {
		dv := computev1alpha1.Volume{Name: attachName(v.Name)}
		if v.Device != "" {
			d := v.Device
			dv.Device = &d
		}
		if ld := v.GetLocalDisk(); ld != nil {
			src := &computev1alpha1.LocalDiskVolumeSource{Image: ld.GetImage().GetImage()}
			if ld.SizeBytes > 0 {
				src.SizeLimit = resource.NewQuantity(ld.SizeBytes, resource.BinarySI)
			}
			dv.LocalDisk = src
		} else {
			dv.VolumeRef = &commonv1alpha1.LocalObjectReference{Name: common.SubName(id, v.Name)}
		}
		m.Spec.Volumes = append(m.Spec.Volumes, dv)
	}
	for _, n := range spec.NetworkInterfaces {
		m.Spec.NetworkInterfaces = append(m.Spec.NetworkInterfaces, computev1alpha1.NetworkInterface{
			Name:                   attachName(n.Name),
			NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{NetworkInterfaceRef: &commonv1alpha1.LocalObjectReference{Name: common.SubName(id, n.Name)}},
		})
	}
	m.Spec.IgnitionRef = nil
	if len(spec.IgnitionData) > 0 {
		m.Spec.IgnitionRef = &commonv1alpha1.SecretKeySelector{Name: id, Key: IgnitionKey}
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	if hasSecret {
		m.Annotations[SecretAnnotation] = id
	} else {
		delete(m.Annotations, SecretAnnotation)
	}
	m.Spec.GuestConfig = nil
	if h := spec.GetGuestConfig().GetHostname(); h != "" {
		m.Spec.GuestConfig = &computev1alpha1.MachineGuestConfig{Hostname: h}
	}
	b, err := protojson.Marshal(stripped(spec))
	if err != nil {
		return err
	}
	m.Annotations[SpecAnnotation] = string(b)
	return nil
}

// subObjects returns the downstream Volumes and NetworkInterfaces that stand
// for spec's remote volume connections and network interfaces of owner.
func (b *Broker) subObjects(owner *computev1alpha1.Machine, spec *machinev1alpha1.MachineSpec) ([]client.Object, error) {
	var out []client.Object
	for _, v := range spec.Volumes {
		if v.GetConnection() != nil {
			vol, err := b.volumeFor(owner, v)
			if err != nil {
				return nil, err
			}
			if s := b.volumeSecretFor(owner, v); s != nil {
				out = append(out, s) // before the Volume that names it
			}
			out = append(out, vol)
		}
	}
	for _, n := range spec.NetworkInterfaces {
		out = append(out, b.nicFor(owner, n))
	}
	return out, nil
}

// hasSubObjects says whether spec needs sub-objects (subObjects returns some).
func hasSubObjects(spec *machinev1alpha1.MachineSpec) bool {
	if len(spec.NetworkInterfaces) > 0 {
		return true
	}
	for _, v := range spec.Volumes {
		if v.GetConnection() != nil {
			return true
		}
	}
	return false
}

func (b *Broker) volumeFor(owner *computev1alpha1.Machine, v *machinev1alpha1.Volume) (*storagev1alpha1.Volume, error) {
	c := proto.Clone(v.Connection).(*machinev1alpha1.VolumeConnection)
	c.SecretData, c.EncryptionData = nil, nil
	data, err := protojson.Marshal(c)
	if err != nil {
		return nil, err
	}
	vol := &storagev1alpha1.Volume{ObjectMeta: b.store.SubMeta(common.SubName(owner.Name, v.Name), v.Name, owner, computev1alpha1.SchemeGroupVersion.String(), "Machine")}
	// A static volume (no class): never scheduled downstream; its size is
	// in the connection annotation (resources require a class).
	vol.Annotations[ConnectionAnnotation] = string(data)
	// Its status is the connection (createSub writes it): no downstream
	// poollet serves a static volume, and the downstream machinepoollet only
	// attaches Available volumes with an access.
	vol.Status.State = storagev1alpha1.VolumeStateAvailable
	vol.Status.Access = &storagev1alpha1.VolumeAccess{Driver: c.Driver, Handle: c.Handle, VolumeAttributes: c.Attributes}
	if len(v.Connection.SecretData) > 0 {
		// The downstream machinepoollet hands the Secret's data on as the connection's secret_data
		// (e.g. a Ceph leaf's userID/userKey), as it does for any Volume's access.
		vol.Status.Access.SecretRef = &corev1.LocalObjectReference{Name: vol.Name}
	}
	if c.EffectiveStorageBytes > 0 {
		vol.Status.Resources = commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: *resource.NewQuantity(c.EffectiveStorageBytes, resource.BinarySI)}
	}
	return vol, nil
}

// createSub creates a sub-object; a static Volume also gets its status
// (set by volumeFor), which a create does not write.
func (b *Broker) createSub(ctx context.Context, o client.Object) error {
	vol, ok := o.(*storagev1alpha1.Volume)
	var st storagev1alpha1.VolumeStatus
	if ok {
		st = *vol.Status.DeepCopy()
	}
	if err := b.store.CreateSub(ctx, o); err != nil || !ok {
		return err
	}
	data, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return err
	}
	return b.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		return c.Status().Patch(ctx, vol, client.RawPatch(types.MergePatchType, data))
	})
}

// networkName is the downstream Network an IRI network id stands for.
func networkName(id string) string {
	if id == "" {
		return "default"
	}
	return attachName(id)
}

func (b *Broker) nicFor(owner *computev1alpha1.Machine, n *machinev1alpha1.NetworkInterface) *networkingv1alpha1.NetworkInterface {
	nic := &networkingv1alpha1.NetworkInterface{ObjectMeta: b.store.SubMeta(common.SubName(owner.Name, n.Name), n.Name, owner, computev1alpha1.SchemeGroupVersion.String(), "Machine")}
	nic.Spec.NetworkRef = commonv1alpha1.LocalObjectReference{Name: networkName(n.NetworkId)}
	nic.Spec.MachineRef = &commonv1alpha1.LocalUIDReference{Name: owner.Name, UID: owner.UID}
	nic.Spec.Attributes = n.Attributes
	for _, ip := range n.Ips {
		v := commonv1alpha1.IP(ip)
		nic.Spec.IPs = append(nic.Spec.IPs, networkingv1alpha1.IPSource{Value: &v})
	}
	return nic
}

// volumeSecretFor is the Secret holding a connection volume's secret_data, named like its
// static Volume (volumeFor); nil when the connection has none.
func (b *Broker) volumeSecretFor(owner *computev1alpha1.Machine, v *machinev1alpha1.Volume) *corev1.Secret {
	if len(v.GetConnection().GetSecretData()) == 0 {
		return nil
	}
	return &corev1.Secret{
		ObjectMeta: b.store.SubMeta(common.SubName(owner.Name, v.Name), v.Name, owner, computev1alpha1.SchemeGroupVersion.String(), "Machine"),
		Type:       corev1.SecretTypeOpaque,
		Data:       v.Connection.SecretData,
	}
}

func (b *Broker) secretFor(owner *computev1alpha1.Machine, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: b.store.SubMeta(owner.Name, "", owner, computev1alpha1.SchemeGroupVersion.String(), "Machine"),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
}

var stateToIRI = map[computev1alpha1.MachineState]machinev1alpha1.MachineState{
	"":                                      machinev1alpha1.MachineState_MACHINE_PENDING,
	computev1alpha1.MachineStatePending:     machinev1alpha1.MachineState_MACHINE_PENDING,
	computev1alpha1.MachineStateRunning:     machinev1alpha1.MachineState_MACHINE_RUNNING,
	computev1alpha1.MachineStateShutdown:    machinev1alpha1.MachineState_MACHINE_SUSPENDED,
	computev1alpha1.MachineStateTerminated:  machinev1alpha1.MachineState_MACHINE_TERMINATED,
	computev1alpha1.MachineStateTerminating: machinev1alpha1.MachineState_MACHINE_TERMINATING,
}

// iriSpec reads the IRI spec of m: the spec annotation plus class, power
// and the secret bytes from the machine's Secret, read with secret. An error
// of secret (common.ErrIncomplete for a Secret not cached yet) is returned
// with the spec without its secret bytes.
func iriSpec(log logr.Logger, m *computev1alpha1.Machine, secret func(name string) (map[string][]byte, error)) (*machinev1alpha1.MachineSpec, error) {
	spec := &machinev1alpha1.MachineSpec{}
	if s := m.Annotations[SpecAnnotation]; s != "" && s != "{}" { // "{}": a bare machine, nothing to decode
		if err := protojson.Unmarshal([]byte(s), spec); err != nil {
			log.Error(err, "Corrupted spec annotation on a downstream machine", "id", m.Name)
		}
	}
	spec.Class = m.Spec.MachineClassRef.Name
	if m.Spec.Power == computev1alpha1.PowerOff {
		spec.Power = machinev1alpha1.Power_POWER_OFF
	}
	name := m.Annotations[SecretAnnotation]
	if name == "" {
		return spec, nil
	}
	data, err := secret(name)
	if err != nil {
		return spec, err
	}
	spec.IgnitionData = data[IgnitionKey]
	var vs map[string]volumeSecrets
	if raw := data[VolumeSecretsKey]; len(raw) > 0 && json.Unmarshal(raw, &vs) == nil {
		for _, v := range spec.Volumes {
			if s, ok := vs[v.Name]; ok && v.Connection != nil {
				v.Connection.SecretData, v.Connection.EncryptionData = s.SecretData, s.EncryptionData
			}
		}
	}
	return spec, nil
}

// names is the spec of m for looking up attachment names (secret bytes
// are not needed for that).
func (b *Broker) names(m *computev1alpha1.Machine) *machinev1alpha1.MachineSpec {
	spec, _ := iriSpec(b.Log, m, b.SecretData)
	return spec
}

// secretRefs names the machine's Secret, which toIRI reads.
func secretRefs(m *computev1alpha1.Machine) []string {
	if name := m.Annotations[SecretAnnotation]; name != "" {
		return []string{name}
	}
	return nil
}

// toIRI converts a downstream Machine; its Secret follows the one rule for
// Secrets not cached yet (common.Broker.SecretData).
func toIRI(b *common.Broker, m *computev1alpha1.Machine) (*machinev1alpha1.Machine, error) {
	spec, secretErr := iriSpec(b.Log, m, b.SecretData)
	st := &machinev1alpha1.MachineStatus{ObservedGeneration: common.ObservedIRIGeneration(m, m.Status.ObservedGeneration), State: stateToIRI[m.Status.State]}
	if m.DeletionTimestamp != nil {
		st.State = machinev1alpha1.MachineState_MACHINE_TERMINATING
	}
	iriName := map[string]string{}
	for _, v := range spec.Volumes {
		iriName["v/"+attachName(v.Name)] = v.Name
	}
	for _, n := range spec.NetworkInterfaces {
		iriName["n/"+attachName(n.Name)] = n.Name
	}
	for _, vs := range m.Status.Volumes {
		name, ok := iriName["v/"+vs.Name]
		if !ok {
			continue
		}
		s := &machinev1alpha1.VolumeStatus{Name: name, Handle: vs.Handle}
		if vs.State == computev1alpha1.VolumeStateAttached {
			s.State = machinev1alpha1.VolumeState_VOLUME_ATTACHED
		}
		st.Volumes = append(st.Volumes, s)
	}
	for _, ns := range m.Status.NetworkInterfaces {
		name, ok := iriName["n/"+ns.Name]
		if !ok {
			continue
		}
		s := &machinev1alpha1.NetworkInterfaceStatus{Name: name, Handle: ns.Handle}
		if ns.State == computev1alpha1.NetworkInterfaceStateAttached {
			s.State = machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED
		}
		st.NetworkInterfaces = append(st.NetworkInterfaces, s)
	}
	st.MachineConditions = conditionsToIRI(b.DownstreamName(), m)
	return &machinev1alpha1.Machine{Metadata: common.IRIMetadata(m), Spec: spec, Status: st}, secretErr
}

// Conditions the levels below own; summarised into DownstreamSynced instead of passed up, where
// they would collide with the upper level's own.
var downstreamOwned = []string{
	commonv1alpha1.ConditionTypeDownstreamSynced, commonv1alpha1.ConditionTypeScheduled,
	commonv1alpha1.ConditionTypePrerequisitesMet, commonv1alpha1.ConditionTypeRuntimeSynced,
}

// conditionsToIRI passes the downstream machine's conditions up, with the ones the downstream
// levels own summarised into one DownstreamSynced: False with the first failing one (in the order
// of downstreamOwned, so the deepest failure wins), True once the downstream poollet's runtime
// holds the machine, Unknown before. Only False carries a message (where and why): True and
// Unknown say all they know in their reason, and every byte here is in every machine of a List
// answer (39 B of a bare machine's 696).
func conditionsToIRI(name string, m *computev1alpha1.Machine) []*machinev1alpha1.Conditions {
	var out []*machinev1alpha1.Conditions
	owned := map[string]computev1alpha1.MachineCondition{}
	for _, c := range m.Status.Conditions {
		if slices.Contains(downstreamOwned, string(c.Type)) {
			owned[string(c.Type)] = c
			continue
		}
		out = append(out, &machinev1alpha1.Conditions{
			Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message,
			LastTransitionTime: unixNano(c.LastTransitionTime),
		})
	}
	sum := &machinev1alpha1.Conditions{Type: commonv1alpha1.ConditionTypeDownstreamSynced, Status: string(corev1.ConditionUnknown),
		Reason: "Pending"}
	for _, typ := range downstreamOwned {
		c, ok := owned[typ]
		if !ok || c.Status != corev1.ConditionFalse {
			continue
		}
		msg := fmt.Sprintf("%s: %s=False: %s", name, typ, c.Message)
		if typ == commonv1alpha1.ConditionTypeDownstreamSynced {
			msg = name + ": " + c.Message // already names the levels below
		}
		sum = &machinev1alpha1.Conditions{Type: commonv1alpha1.ConditionTypeDownstreamSynced, Status: string(corev1.ConditionFalse),
			Reason: c.Reason, Message: msg, LastTransitionTime: unixNano(c.LastTransitionTime)}
		break
	}
	if sum.Status == string(corev1.ConditionUnknown) {
		rs, ok := owned[commonv1alpha1.ConditionTypeRuntimeSynced]
		ds, below := owned[commonv1alpha1.ConditionTypeDownstreamSynced]
		if ok && rs.Status == corev1.ConditionTrue && (!below || ds.Status == corev1.ConditionTrue) {
			sum = &machinev1alpha1.Conditions{Type: commonv1alpha1.ConditionTypeDownstreamSynced, Status: string(corev1.ConditionTrue),
				Reason: "Synced", LastTransitionTime: unixNano(rs.LastTransitionTime)}
		}
	}
	return append(out, sum)
}

func unixNano(t metav1.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// subsOf names the sub-objects of a downstream machine.
func subsOf(m *computev1alpha1.Machine) []client.Object {
	var out []client.Object
	if name := m.Annotations[SecretAnnotation]; name != "" {
		s := &corev1.Secret{}
		s.Name, s.Namespace = name, m.Namespace
		out = append(out, s)
	}
	for _, v := range m.Spec.Volumes {
		if v.VolumeRef != nil {
			o := &storagev1alpha1.Volume{}
			o.Name, o.Namespace = v.VolumeRef.Name, m.Namespace
			out = append(out, o)
		}
	}
	for _, n := range m.Spec.NetworkInterfaces {
		if n.NetworkInterfaceRef != nil {
			o := &networkingv1alpha1.NetworkInterface{}
			o.Name, o.Namespace = n.NetworkInterfaceRef.Name, m.Namespace
			out = append(out, o)
		}
	}
	return out
}
