package common

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// A downstream that never answers a patch does not block the caller: the
// write times out with DeadlineExceeded naming the downstream.
func TestHungPatchTimesOut(t *testing.T) {
	m := brokeredMachine(1, "")
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(m).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, _ client.WithWatch, _ client.Object, _ client.Patch, _ ...client.PatchOption) error {
			<-ctx.Done() // hangs until the write's deadline
			return ctx.Err()
		},
	}).Build()
	s := startFakeStore(t, c, func(o *Options) { o.WriteTimeout = 200 * time.Millisecond })
	start := time.Now()
	err := s.UpdateAnnotations(context.Background(), m.Name, map[string]string{"a": "b"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("update against a hung downstream: %v; want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the hung patch blocked the caller %s", d)
	}
}
