package volume

import (
	"encoding/json"
	"strings"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// Image metadata keys. recordKey holds the volume's IRI metadata and is
// written last: an image of ours without it is a half-created orphan.
const (
	recordKey         = "ironfed.volume"
	snapshotKeyPrefix = "ironfed.snapshot."
	// librbd QoS, enforced by librbd in the client (QEMU).
	qosIOPSKey = "conf_rbd_qos_iops_limit"
	qosBPSKey  = "conf_rbd_qos_bps_limit"
)

// volumeRecord is the part of a volume only the runtime knows.
type volumeRecord struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CreatedAt   int64             `json:"createdAt"`
	Generation  int64             `json:"generation"`
	Class       string            `json:"class"`
	WWN         string            `json:"wwn"`
	// Encryption is "luks2" for an encrypted image; the key is never kept.
	Encryption string `json:"encryption,omitempty"`
	// SourceSnapshot is the snapshot the volume was restored from.
	SourceSnapshot string `json:"sourceSnapshot,omitempty"`
	// Image is the OS image the volume was cloned from.
	Image string `json:"image,omitempty"`
}

// snapshotRecord is an IRI snapshot, kept on its volume's image.
type snapshotRecord struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CreatedAt   int64             `json:"createdAt"`
	Size        int64             `json:"size"`
}

func (r volumeRecord) metadata(id string) *metav1alpha1.ObjectMetadata {
	return &metav1alpha1.ObjectMetadata{Id: id, Labels: r.Labels, Annotations: r.Annotations, CreatedAt: r.CreatedAt, Generation: r.Generation}
}

func (r snapshotRecord) metadata(id string) *metav1alpha1.ObjectMetadata {
	return &metav1alpha1.ObjectMetadata{Id: id, Labels: r.Labels, Annotations: r.Annotations, CreatedAt: r.CreatedAt, Generation: 1}
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // records hold only strings and numbers
	return string(b)
}

func snapshotKey(id string) string { return snapshotKeyPrefix + id }

func snapshotIDFromKey(key string) (string, bool) {
	return strings.CutPrefix(key, snapshotKeyPrefix)
}
