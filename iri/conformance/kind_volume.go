package conformance

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

type volume = volumev1alpha1.Volume

// volumeClass is the class with the most bytes in Status.
func (c *C) volumeClass(ctx context.Context) classInfo {
	return c.env.classes.get(&c.env.classes.volume, func() classInfo {
		resp, err := c.Volume().Status(ctx, &volumev1alpha1.StatusRequest{})
		if err != nil {
			return classInfo{err: fmt.Errorf("discovering volume classes with Status: %w", err)}
		}
		var best classInfo
		for _, s := range resp.GetVolumeClassStatus() {
			if n := s.GetVolumeClass().GetName(); n != "" && (best.name == "" || s.GetQuantity() > best.quantity) {
				best = classInfo{name: n, quantity: s.GetQuantity()}
			}
		}
		if best.name == "" {
			best.err = errors.New("the Status RPC reports no volume class, so no volume can be created")
		}
		return best
	})
}

// volumeSize is what the cases' volumes ask for: 1 GiB, less when the
// class is small, so that the parallel case fits.
func (c *C) volumeSize(ctx context.Context) int64 {
	const gi = int64(1) << 30
	if q := c.volumeClass(ctx).quantity; q > 0 && q/200 < gi {
		return max(q/200, 1)
	}
	return gi
}

func (c *C) newVolume(ctx context.Context, lbls map[string]string) (*volume, error) {
	ci := c.volumeClass(ctx)
	if ci.err != nil {
		return nil, ci.err
	}
	return &volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls, Annotations: map[string]string{CaseAnnotation: c.Name()}},
		Spec:     &volumev1alpha1.VolumeSpec{Class: ci.name, Resources: &volumev1alpha1.VolumeResources{StorageBytes: c.volumeSize(ctx)}},
	}, nil
}

func (c *C) createVolume(ctx context.Context, v *volume) (*volume, error) {
	resp, err := c.Volume().CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: v})
	if err != nil {
		return nil, err
	}
	if resp.GetVolume().GetMetadata().GetId() == "" {
		return nil, errors.New("CreateVolume answered without a volume id")
	}
	return resp.Volume, nil
}

func volumeAPI() *kindAPI[*volume] {
	return &kindAPI[*volume]{
		runtime:  Volume,
		uidLabel: labels.VolumeUIDLabel,
		version: func(ctx context.Context, c *C) (string, string, error) {
			r, err := c.Volume().Version(ctx, &volumev1alpha1.VersionRequest{Version: "v1alpha1"})
			return r.GetRuntimeName(), r.GetRuntimeVersion(), err
		},
		create: func(ctx context.Context, c *C, lbls map[string]string) (*volume, error) {
			v, err := c.newVolume(ctx, lbls)
			if err != nil {
				return nil, err
			}
			return c.createVolume(ctx, v)
		},
		list: func(ctx context.Context, c *C, id string, sel map[string]string) ([]*volume, error) {
			r, err := c.Volume().ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id, LabelSelector: sel}})
			return r.GetVolumes(), err
		},
		del: func(ctx context.Context, c *C, id string) error {
			_, err := c.Volume().DeleteVolume(ctx, &volumev1alpha1.DeleteVolumeRequest{VolumeId: id})
			return err
		},
		ready: func(v *volume) (bool, string) {
			st := v.GetStatus().GetState()
			return st == volumev1alpha1.VolumeState_VOLUME_AVAILABLE, "state " + st.String()
		},
		modify: func(ctx context.Context, c *C, id string) (func(*volume) bool, error) {
			size := 2 * c.volumeSize(ctx)
			_, err := c.Volume().ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{
				VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: size},
			})
			return func(v *volume) bool { return v.GetSpec().GetResources().GetStorageBytes() == size }, err
		},
		events: func(ctx context.Context, c *C, f eventFilter) ([]*eventv1alpha1.Event, error) {
			r, err := c.Volume().ListEvents(ctx, &volumev1alpha1.ListEventsRequest{Filter: &volumev1alpha1.EventFilter{
				Id: f.id, LabelSelector: f.selector, EventsFromTime: f.from, EventsToTime: f.to,
			}})
			return r.GetEvents(), err
		},
		watch: func(ctx context.Context, c *C, sel map[string]string, initial bool) (func() (watchEvent[*volume], error), error) {
			s, err := c.Volume().WatchVolumes(ctx, &volumev1alpha1.WatchVolumesRequest{
				Filter: &volumev1alpha1.VolumeFilter{LabelSelector: sel}, SendInitialList: initial,
			})
			if err != nil {
				return nil, err
			}
			return watchRecv(s, func(e *volumev1alpha1.WatchVolumesEvent) watchEvent[*volume] {
				return watchEvent[*volume]{typ: watchType(e.GetType()), obj: e.GetObject(), seq: e.GetSequence()}
			}), nil
		},
		parallelism: func(ctx context.Context, c *C) int {
			ci := c.volumeClass(ctx)
			return parallelism(ci.quantity / c.volumeSize(ctx))
		},
		badCreates: volumeBadCreates,
		idCalls: func(c *C, id string) []badCall {
			return []badCall{{"ExpandVolume", func(ctx context.Context) error {
				_, err := c.Volume().ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{
					VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: 4 * c.volumeSize(ctx)},
				})
				return err
			}, nil}}
		},
	}
}

func volumeBadCreates(ctx context.Context, c *C) []badCall {
	invalid := []codes.Code{codes.InvalidArgument}
	create := func(mutate func(*volume) *volume) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			v, err := c.newVolume(ctx, c.Labels())
			if err != nil {
				return fmt.Errorf("building the request: %w", err)
			}
			_, err = c.Volume().CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: mutate(v)})
			return err
		}
	}
	return []badCall{
		{"no volume", func(ctx context.Context) error {
			_, err := c.Volume().CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{})
			return err
		}, invalid},
		{"no spec", create(func(v *volume) *volume { v.Spec = nil; return v }), invalid},
		{"missing class", create(func(v *volume) *volume { v.Spec.Class = ""; return v }), invalid},
		{"unknown class", create(func(v *volume) *volume { v.Spec.Class = "conformance-no-such-class"; return v }), invalid},
		{"no resources", create(func(v *volume) *volume { v.Spec.Resources = nil; return v }), invalid},
		{"zero size", create(func(v *volume) *volume { v.Spec.Resources.StorageBytes = 0; return v }), invalid},
	}
}
