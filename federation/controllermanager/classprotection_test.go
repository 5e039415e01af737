package controllermanager_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/classprotection"
)

// Regression (probe): a class in use could be deleted, leaving its objects with a class nobody
// can resolve. It stays (Terminating) while a Machine uses it and goes once the last one does.
func TestClassInUseIsProtected(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := t.Context()
	class := &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: "guarded"}}
	if err := e.client.Create(ctx, class); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Create(ctx, newMachine("user", "guarded", nil)); err != nil {
		t.Fatal(err)
	}
	poll := func(what string, cond func() (bool, error)) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) { return cond() }); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll("finalizer on the class", func() (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(class), class)
		return err == nil && slices.Contains(class.Finalizers, classprotection.Finalizer), err
	})
	if err := e.client.Delete(ctx, class); err != nil {
		t.Fatal(err)
	}
	poll("a ClassInUse warning naming the machine", func() (bool, error) {
		list := &eventsv1.EventList{}
		if err := e.client.List(ctx, list); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list.Items, func(ev eventsv1.Event) bool {
			return ev.Reason == classprotection.ReasonClassInUse && ev.Regarding.Name == "guarded" && strings.Contains(ev.Note, "default/user")
		}), nil
	})
	if err := e.client.Get(ctx, client.ObjectKeyFromObject(class), class); err != nil || class.DeletionTimestamp.IsZero() {
		t.Fatalf("class in use: %v, deletion %v; want it kept, Terminating", err, class.DeletionTimestamp)
	}
	if err := e.client.Delete(ctx, &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "user"}}); err != nil {
		t.Fatal(err)
	}
	poll("class gone after its last user", func() (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(class), class)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}
