package common

import (
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// GenerationAnnotation holds the IRI generation of a downstream object, owned by the broker: 1 at
// create, one more with each IRI update that changes the desired state, written in the same
// patch (Store.Update). The downstream metadata.generation cannot serve: IronCore's apiserver
// leaves it 0, and on ours it also counts spec writes that are no IRI update (the downstream
// scheduler binding a pool). Kept on the object, it survives a broker restart.
const GenerationAnnotation = "broker.ironfed.dev/generation"

// initialGeneration is the IRI generation of a new object, as every runtime of ours reports it.
const initialGeneration = 1

// IRIGeneration is the IRI generation of downstream object o. An object without the annotation
// (created by a broker before it existed, or edited by hand) reads as its downstream generation,
// at least 1, which is what brokers reported for it before.
func IRIGeneration(o client.Object) int64 {
	if g, err := strconv.ParseInt(o.GetAnnotations()[GenerationAnnotation], 10, 64); err == nil && g >= initialGeneration {
		return g
	}
	return max(o.GetGeneration(), initialGeneration)
}

// ObservedIRIGeneration is the IRI generation the levels below o have observed, given what they
// report at o's own level: downstreamObserved is o's status.observedGeneration, which the
// downstream poollet sets to the metadata.generation its runtime observed. Caught up with its
// own generation, the downstream observed the IRI generation too; otherwise at most the one
// before. (Downstream generation and observed generation are compared at their own level only;
// on IronCore's apiserver both stay 0, so there the downstream always counts as caught up.)
func ObservedIRIGeneration(o client.Object, downstreamObserved int64) int64 {
	g := IRIGeneration(o)
	if downstreamObserved >= o.GetGeneration() {
		return g
	}
	return g - 1
}

// withNextGeneration adds the next IRI generation of cur to the merge patch's annotations.
func withNextGeneration(patch map[string]any, cur client.Object) {
	md, _ := patch["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		patch["metadata"] = md
	}
	next := strconv.FormatInt(IRIGeneration(cur)+1, 10)
	switch a := md["annotations"].(type) {
	case map[string]any:
		a[GenerationAnnotation] = next
	case map[string]string:
		a[GenerationAnnotation] = next
	default:
		md["annotations"] = map[string]any{GenerationAnnotation: next}
	}
}
