package common

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// ClassSource reads a kind's downstream pools and classes.
type ClassSource struct {
	// Type is the class type of the pools' class-count capacity resources.
	Type commonv1alpha1.ClassType
	// PoolList is an empty list of the kind's pools, ClassList of its
	// classes. Every ironfed pool kind has status.conditions (Ready),
	// status.capacity and status.available<Kind>Classes, every class kind
	// capabilities: the core reads them alike (ReadPool, ReadCapabilities).
	PoolList  client.ObjectList
	ClassList client.ObjectList
}

// ReadPool reads a pool of any kind: Ready=True, status.capacity and the
// status.available<Kind>Classes.
func ReadPool(o client.Object) PoolInfo {
	st := reflect.ValueOf(o).Elem().FieldByName("Status")
	var p PoolInfo
	p.Capacity, _ = st.FieldByName("Capacity").Interface().(commonv1alpha1.ResourceList)
	conds := st.FieldByName("Conditions")
	for i := 0; i < conds.Len(); i++ {
		c := conds.Index(i)
		if c.FieldByName("Type").String() != commonv1alpha1.ConditionTypeReady {
			continue
		}
		p.Ready = c.FieldByName("Status").String() == string(corev1.ConditionTrue)
		p.NotReady = "Ready=" + c.FieldByName("Status").String()
		if r := c.FieldByName("Reason").String(); r != "" {
			p.NotReady += " " + r
		}
		if m := c.FieldByName("Message").String(); m != "" {
			p.NotReady += ": " + m
		}
	}
	for i := 0; i < st.NumField(); i++ {
		if n := st.Type().Field(i).Name; strings.HasPrefix(n, "Available") && strings.HasSuffix(n, "Classes") {
			p.Offered, _ = st.Field(i).Interface().([]corev1.LocalObjectReference)
		}
	}
	if !p.Ready && p.NotReady == "" {
		// IronCore's volume poollet sets no Ready condition, only the state Available; its bucket
		// poollet sets neither and announces classes only, which IronCore's scheduler and ours
		// (federation/scheduler bucketPoolInfo) take as ready.
		state := st.FieldByName("State")
		switch {
		case state.IsValid() && state.String() == "Available":
			p.Ready = true
		case state.IsValid() && state.String() == "" && reflect.TypeOf(o).Elem().Name() == "BucketPool" && len(p.Offered) > 0:
			p.Ready = true
		default:
			p.NotReady = "no Ready condition"
		}
	}
	return p
}

// ReadCapabilities reads the capabilities of a class of any kind.
func ReadCapabilities(o client.Object) commonv1alpha1.ResourceList {
	c, _ := reflect.ValueOf(o).Elem().FieldByName("Capabilities").Interface().(commonv1alpha1.ResourceList)
	return c
}

// PoolInfo is what the core reads of a downstream pool.
type PoolInfo struct {
	Ready bool
	// NotReady says why a pool is not Ready: its Ready condition's status, reason and message.
	NotReady string
	Capacity commonv1alpha1.ResourceList
	// Offered are the pool's available classes.
	Offered []corev1.LocalObjectReference
}

// ClassInfo is what the core reads of a downstream class.
type ClassInfo struct {
	Name         string
	Capabilities commonv1alpha1.ResourceList
}

// ClassCapacity is one downstream class as the pools the broker may use
// see it.
type ClassCapacity struct {
	ClassInfo
	// Quantity sums the class-count capacity of the usable Ready pools;
	// Counted says whether any of them reports one.
	Quantity int64
	Counted  bool
	// Offered says whether a usable Ready pool lists the class as available.
	Offered bool
}

// Capacity returns the downstream classes with the capacity of the Ready
// pools the broker may schedule onto (the --<kind>-pool-name pool, or those
// matching --<kind>-pool-selector, or all), sorted by name. While the
// downstream is unreachable it fails with Unavailable instead of reporting
// cached capacity, so the poollet above marks its pool not Ready.
func (s *Store[O, T]) Capacity(ctx context.Context) ([]ClassCapacity, error) {
	if err := s.D.Unreachable(); err != nil {
		return nil, err
	}
	src := s.A.Classes
	pools := src.PoolList.DeepCopyObject().(client.ObjectList)
	var opts []client.ListOption
	if len(s.Opts.PoolSelector) > 0 {
		opts = append(opts, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(s.Opts.PoolSelector)})
	}
	if err := s.D.Cache.List(ctx, pools, opts...); err != nil {
		return nil, s.D.ToStatus("list "+string(src.Type)+" pools", err)
	}
	quantity, counted, offered := map[string]int64{}, map[string]bool{}, map[string]bool{}
	items, err := meta.ExtractList(pools)
	if err != nil {
		return nil, err
	}
	var ready int
	var down []string
	for _, o := range items {
		po := o.(client.Object)
		p := ReadPool(po)
		if s.Opts.PoolName != "" && po.GetName() != s.Opts.PoolName {
			continue
		}
		if !p.Ready {
			down = append(down, po.GetName()+" ("+p.NotReady+")")
			continue
		}
		ready++
		for name, q := range p.Capacity {
			if t, class, ok := commonv1alpha1.ParseClassCount(name); ok && t == src.Type {
				quantity[class] += q.Value()
				counted[class] = true
			}
		}
		for _, c := range p.Offered {
			offered[c.Name] = true
		}
	}
	if ready == 0 && len(down) > 0 {
		// Every pool below is down: that is an outage of the level below, not a pool that offers
		// nothing. Unavailable keeps the pool above at its last known classes, Ready=Unknown.
		return nil, status.Errorf(codes.Unavailable, "no %s pool below is Ready (%d not Ready: %s)", src.Type, len(down), firstOf(down, 3))
	}
	classes, err := s.classes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ClassCapacity, 0, len(classes))
	for _, c := range classes {
		out = append(out, ClassCapacity{ClassInfo: c, Quantity: quantity[c.Name], Counted: counted[c.Name], Offered: offered[c.Name]})
	}
	return out, nil
}

// classes lists the downstream classes sorted by name.
func (s *Store[O, T]) classes(ctx context.Context) ([]ClassInfo, error) {
	src := s.A.Classes
	list := src.ClassList.DeepCopyObject().(client.ObjectList)
	if err := s.D.Cache.List(ctx, list); err != nil {
		return nil, s.D.ToStatus("list "+string(src.Type)+" classes", err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]ClassInfo, len(items))
	for i, o := range items {
		c := o.(client.Object)
		out[i] = ClassInfo{Name: c.GetName(), Capabilities: ReadCapabilities(c)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CheckClass is the one class rule of every broker kind: a create must name
// a class that exists downstream. It does not require a Ready pool offering
// the class right now: the scheduler above only places objects on pools
// that advertised the class, and a downstream pool that is briefly not Ready
// (a missed heartbeat) must not turn a create into InvalidArgument, which the
// poollet above reports as a permanent rejection. Such an object waits
// Pending downstream until a pool offers its class, as a pod waits for a node.
func (s *Store[O, T]) CheckClass(ctx context.Context, class string) error {
	what := strings.ToLower(s.A.Kind)
	if class != "" {
		for _, c := range s.classesOrNil(ctx) {
			if c.Name == class {
				return nil
			}
		}
		return Invalidf("%s class %q is not supported; supported %s classes: %s", what, class, what, s.classNames(ctx))
	}
	return Invalidf("%s.spec.class is required; supported %s classes: %s", what, what, s.classNames(ctx))
}

func (s *Store[O, T]) classesOrNil(ctx context.Context) []ClassInfo {
	c, _ := s.classes(ctx)
	return c
}

func (s *Store[O, T]) classNames(ctx context.Context) string {
	classes := s.classesOrNil(ctx)
	if len(classes) == 0 {
		return "(none)"
	}
	names := make([]string, len(classes))
	for i, c := range classes {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// firstOf joins the first n items and says how many more there are.
func firstOf(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}
