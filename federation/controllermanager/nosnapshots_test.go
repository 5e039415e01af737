package controllermanager_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/test/framework"
)

// TestVolumesScheduleWithoutTheSnapshotCRD: a cluster that does not serve VolumeSnapshots still
// schedules Volumes; one that restores a snapshot waits, saying why. The scheduler used to wait
// for a VolumeSnapshot informer before scheduling any Volume.
func TestVolumesScheduleWithoutTheSnapshotCRD(t *testing.T) {
	t.Parallel()
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"nosnap"}, WithoutControllerManager: true})[0]
	ctx := t.Context()
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	crds, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "volumesnapshots." + storagev1alpha1.SchemeGroupVersion.Group}}
	if err := crds.Delete(ctx, crd); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		fresh, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
		if err != nil {
			return false, err
		}
		return meta.IsNoMatchError(fresh.List(ctx, &storagev1alpha1.VolumeSnapshotList{})), nil
	}); err != nil {
		t.Fatalf("VolumeSnapshots still served after deleting their CRD: %v", err)
	}
	startManager(t, c.Config, func(o *controllermanager.Options) { o.UnschedulableRetryPeriod = time.Second })
	e := &env{cfg: c.Config, client: cl}
	e.createVolumePool(t, "a", "fast", "100Gi")

	volume := func(name, snapshot string) {
		t.Helper()
		v := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		}}
		if snapshot != "" {
			v.Spec.DataSource.VolumeSnapshotRef = &commonv1alpha1.LocalObjectReference{Name: snapshot}
		}
		if err := cl.Create(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	volume("plain", "")
	e.waitVolumeState(t, "plain", func(s string) bool { return s == "bound to a" }, `"bound to a"`)
	volume("restore", "snap")
	e.waitVolumeState(t, "restore", func(s string) bool {
		return strings.HasPrefix(s, "WaitingForVolumeSnapshot: Waiting: ") && strings.Contains(s, "VolumeSnapshot")
	}, "WaitingForVolumeSnapshot naming the missing kind")
}
