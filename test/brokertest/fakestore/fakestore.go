// Package fakestore runs a broker kind's store over controller-runtime's
// fake client, through the real informer cache: the brokers' fast tests
// (no cluster).
package fakestore

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

// Namespace holds the brokered objects in the fast tests.
const Namespace = "brokered"

// Start runs spec's store (options of broker kind, changed by mutate) over a
// fake client seeded with objs until the test ends.
func Start[O client.Object, T remote.Object](t testing.TB, spec common.Spec[O, T], kind string, mutate func(*common.Options), objs ...client.Object) (*common.Store[O, T], client.WithWatch) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(common.NewScheme()).WithObjects(objs...).WithStatusSubresource(
		&computev1alpha1.Machine{}, &computev1alpha1.MachinePool{}, &storagev1alpha1.Volume{}, &storagev1alpha1.VolumePool{},
		&storagev1alpha1.Bucket{}, &storagev1alpha1.BucketPool{},
	).Build()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	opts := common.DefaultOptions(kind)
	opts.Namespace = Namespace
	if mutate != nil {
		mutate(&opts)
	}
	s, err := common.StartStore(ctx, spec, opts, common.DownstreamOptions{Client: c, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}
