package common

import (
	"encoding/json"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// Keys of the labels and annotations a broker puts on downstream objects.
const (
	// ManagedByLabel names the broker that owns a downstream object.
	ManagedByLabel = "broker.ironfed.dev/managed-by"
	// CreatedLabel is "true" once every sub-object of an object exists;
	// lists and watches ignore objects without it.
	CreatedLabel = "broker.ironfed.dev/created"
	// UIDLabel carries the poollet UID label of the IRI object, for
	// idempotent creates.
	UIDLabel = "broker.ironfed.dev/uid"
	// LabelsAnnotation holds the IRI labels as a JSON object.
	LabelsAnnotation = "broker.ironfed.dev/labels"
	// AnnotationsAnnotation holds the IRI annotations as a JSON object.
	AnnotationsAnnotation = "broker.ironfed.dev/annotations"
	// IRINameAnnotation on a sub-object names the IRI element (volume or
	// network interface) it stands for.
	IRINameAnnotation = "broker.ironfed.dev/iri-name"
)

// Meta is the IRI metadata a create request carries.
type Meta struct {
	Labels, Annotations map[string]string
}

// CheckNewMetadata validates the metadata of a create request.
func CheckNewMetadata(md *metav1alpha1.ObjectMetadata) error {
	if md.GetId() != "" {
		return Invalidf("metadata.id must be empty: the runtime assigns ids")
	}
	return nil
}

// ObjectMeta builds the downstream metadata for a new IRI object: name = id,
// the managed-by label, the downward-API labels, the UID label and the IRI
// labels/annotations as JSON annotations.
func (b *Broker) ObjectMeta(id string, md *metav1alpha1.ObjectMetadata) (metav1.ObjectMeta, error) {
	om := metav1.ObjectMeta{
		Name: id, Namespace: b.Namespace,
		Labels:      map[string]string{ManagedByLabel: b.Name},
		Annotations: map[string]string{},
	}
	prefix := labels.DownwardAPIPrefix(b.Kind)
	for k, v := range md.GetLabels() {
		if prefix != "" && strings.HasPrefix(k, prefix) && len(validation.IsValidLabelValue(v)) == 0 {
			om.Labels[k] = v
		}
	}
	if uid := md.GetLabels()[labels.UIDLabel(b.Kind)]; uid != "" {
		if len(validation.IsValidLabelValue(uid)) != 0 {
			return om, Invalidf("label %s=%q is not a valid label value", labels.UIDLabel(b.Kind), uid)
		}
		om.Labels[UIDLabel] = uid
	}
	om.Annotations[GenerationAnnotation] = strconv.Itoa(initialGeneration)
	if err := setJSON(om.Annotations, LabelsAnnotation, md.GetLabels()); err != nil {
		return om, err
	}
	if err := setJSON(om.Annotations, AnnotationsAnnotation, md.GetAnnotations()); err != nil {
		return om, err
	}
	if err := checkAnnotationSize(om.Annotations); err != nil {
		return om, err
	}
	return om, nil
}

// MaxMetadataBytes bounds the IRI labels and annotations of one object together, as JSON: they
// are kept in downstream annotations, which Kubernetes limits to 256 KiB in all; the rest is
// headroom for the broker's own.
const MaxMetadataBytes = 240 << 10

// checkAnnotationSize refuses what the downstream apiserver would refuse, before any write,
// naming the limit (the apiserver's answer arrived as an Internal error).
func checkAnnotationSize(a map[string]string) error {
	n := len(a[LabelsAnnotation]) + len(a[AnnotationsAnnotation])
	if n > MaxMetadataBytes {
		return Invalidf("metadata.labels and metadata.annotations take %d bytes as JSON; at most %d (240 KiB) are allowed", n, MaxMetadataBytes)
	}
	return nil
}

func setJSON(into map[string]string, key string, m map[string]string) error {
	if m == nil {
		m = map[string]string{}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return Invalidf("encode %s: %v", key, err)
	}
	into[key] = string(data)
	return nil
}

// IRIMetadata converts a downstream object's metadata to IRI metadata.
func IRIMetadata(o client.Object) *metav1alpha1.ObjectMetadata {
	md := &metav1alpha1.ObjectMetadata{
		Id:          o.GetName(),
		Labels:      getJSON(o.GetAnnotations(), LabelsAnnotation),
		Annotations: getJSON(o.GetAnnotations(), AnnotationsAnnotation),
		Generation:  IRIGeneration(o),
		CreatedAt:   o.GetCreationTimestamp().UnixNano(),
	}
	if t := o.GetDeletionTimestamp(); t != nil {
		md.DeletedAt = t.UnixNano()
	}
	return md
}

// MatchesLabels says whether the IRI labels of o contain every selector label.
func MatchesLabels(o client.Object, selector map[string]string) bool {
	if len(selector) == 0 {
		return true
	}
	l := getJSON(o.GetAnnotations(), LabelsAnnotation)
	for k, v := range selector {
		if got, ok := l[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// AnnotationsPatch is the merge patch that replaces the IRI annotations.
func AnnotationsPatch(annotations map[string]string) (map[string]any, error) {
	a := map[string]string{}
	if err := setJSON(a, AnnotationsAnnotation, annotations); err != nil {
		return nil, err
	}
	if err := checkAnnotationSize(a); err != nil {
		return nil, err
	}
	return map[string]any{"metadata": map[string]any{"annotations": a}}, nil
}

// IsCreated says whether o has all its sub-objects.
func IsCreated(o client.Object) bool { return o.GetLabels()[CreatedLabel] == "true" }

// Owned returns an owner reference list pointing at owner (blocking deletion
// so a foreground delete waits for the sub-objects). It is not a controller
// reference: the downstream machinepoollet prunes the Volumes and
// NetworkInterfaces its Machine controls that are not ephemeral.
func Owned(owner client.Object, apiVersion, kind string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(), BlockOwnerDeletion: &t}}
}

// SubMeta is the metadata of a sub-object of owner standing for the IRI
// element iriName ("" for none).
func (b *Broker) SubMeta(name, iriName string, owner client.Object, apiVersion, kind string) metav1.ObjectMeta {
	om := metav1.ObjectMeta{
		Name: name, Namespace: b.Namespace,
		Labels:          map[string]string{ManagedByLabel: b.Name},
		OwnerReferences: Owned(owner, apiVersion, kind),
	}
	if iriName != "" {
		om.Annotations = map[string]string{IRINameAnnotation: iriName}
	}
	return om
}
