package objstore

import metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"

// Filter selects objects like the IRI list filters: empty fields match
// everything; an object must carry every label of Labels.
type Filter struct {
	ID     string
	Labels map[string]string
}

// Matches reports whether md passes the filter.
func (f Filter) Matches(md *metav1alpha1.ObjectMetadata) bool {
	if f.ID != "" && md.GetId() != f.ID {
		return false
	}
	have := md.GetLabels()
	for k, v := range f.Labels {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
