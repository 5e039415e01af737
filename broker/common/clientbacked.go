package common

import (
	"context"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// clientBacked returns a placeholder config and the cache options that feed
// controller-runtime's informer cache from c instead of an apiserver, so the
// broker's cache, indexes and event handlers run unchanged over a fake.
func clientBacked(c client.WithWatch, scheme *runtime.Scheme) (*rest.Config, cache.Options) {
	mapper := meta.NewDefaultRESTMapper(nil)
	for gvk := range scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		scope := meta.RESTScopeNamespace
		if clusterScoped[strings.TrimSuffix(gvk.Kind, "List")] {
			scope = meta.RESTScopeRoot
		}
		mapper.Add(gvk, scope)
	}
	return &rest.Config{Host: "client-backed"}, cache.Options{
		HTTPClient: http.DefaultClient,
		Mapper:     mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
			return toolscache.NewSharedIndexInformer(clientListWatch(c, scheme, obj), obj, resync, idx)
		},
	}
}

// clusterScoped are the kinds the brokers read that are not namespaced.
var clusterScoped = map[string]bool{
	"Namespace": true, "MachineClass": true, "MachinePool": true, "VolumeClass": true, "VolumePool": true,
	"BucketClass": true, "BucketPool": true, "Node": true,
}

// clientListWatch lists and watches obj's kind through c. The watch is
// opened before the list, so no write between them is lost (a fake's watch
// starts at the call, whatever resourceVersion it is given).
func clientListWatch(c client.WithWatch, scheme *runtime.Scheme, obj runtime.Object) toolscache.ListerWatcher {
	gvk, _ := apiutil.GVKForObject(obj, scheme)
	newList := func() client.ObjectList {
		l, _ := scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		return l.(client.ObjectList)
	}
	var pending watch.Interface
	listOpts := func(o metav1.ListOptions) *client.ListOptions {
		sel, err := labels.Parse(o.LabelSelector)
		if err != nil {
			sel = labels.Everything()
		}
		return &client.ListOptions{LabelSelector: sel}
	}
	return noWatchList{&toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			w, err := c.Watch(ctx, newList(), listOpts(o))
			if err != nil {
				return nil, err
			}
			if pending != nil {
				pending.Stop()
			}
			pending = w
			l := newList()
			return l, c.List(ctx, l, listOpts(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if w := pending; w != nil {
				pending = nil
				return w, nil
			}
			return c.Watch(ctx, newList(), listOpts(o))
		},
	}}
}

// noWatchList tells the reflector to list then watch: a client's watch does
// not stream an initial list (WatchList semantics).
type noWatchList struct{ *toolscache.ListWatch }

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }
