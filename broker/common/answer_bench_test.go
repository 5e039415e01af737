package common

import (
	"encoding/json"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// BenchmarkAnswer10k is a warm ListMachines answer over 10,000 brokered Machines labelled as a
// poollet labels them (its six identity labels), as served over gRPC: Store.Answer and the
// Marshal gRPC makes of it (no transport; fake client, no cluster):
//
//	go test ./broker/common/ -run '^$' -bench Answer10k -benchmem
func BenchmarkAnswer10k(b *testing.B) {
	const n = 10000
	objs := make([]client.Object, n)
	for i := range objs {
		m := brokeredMachine(i, fmt.Sprintf("2f1c6a2e-0000-4000-8000-%012d", i))
		uid, name := m.Labels[UIDLabel], fmt.Sprintf("machine-%05d", i)
		m.UID = types.UID(uid)
		lbl, _ := json.Marshal(map[string]string{
			labels.MachineUIDLabel: uid, labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: name,
			labels.DownwardAPILabel(labels.Machine, "root-machine-uid"):       uid,
			labels.DownwardAPILabel(labels.Machine, "root-machine-namespace"): "default",
			labels.DownwardAPILabel(labels.Machine, "root-machine-name"):      name,
		})
		ann, _ := json.Marshal(map[string]string{labels.MachineGenerationAnnotation: "1", labels.IRIMachineGenerationAnnotation: "0"})
		m.Annotations[LabelsAnnotation], m.Annotations[AnnotationsAnnotation] = string(lbl), string(ann)
		objs[i] = m
	}
	s := startFakeStore(b, fakeClient(objs...), nil)
	answer := func(b *testing.B) {
		resp := &machinev1alpha1.ListMachinesResponse{}
		if err := s.Answer(servedCtx(), &machinev1alpha1.MachineFilter{}, resp); err != nil {
			b.Fatal(err)
		}
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
	answer(b) // warm the conversion cache
	b.ReportAllocs()
	for b.Loop() {
		answer(b)
	}
}
