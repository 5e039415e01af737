package memory

import metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"

// Filter selects objects like the IRI list filters: empty fields match
// everything, an object must carry every label of Labels.
type Filter struct {
	ID     string
	Labels map[string]string
}

func (f Filter) matches(md *metav1alpha1.ObjectMetadata) bool {
	if f.ID != "" && md.GetId() != f.ID {
		return false
	}
	return labelsMatch(md.GetLabels(), f.Labels)
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func copyMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
