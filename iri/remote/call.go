package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// APIVersion is the IRI version our clients announce in VersionRequest.
const APIVersion = "v1alpha1"

// ErrIncompleteResponse is matched (errors.Is) by every error a client
// returns because a response lacks what the IRI promises, e.g. a created
// object without an id. Such errors carry codes.Internal.
var ErrIncompleteResponse = errors.New("incomplete response from runtime")

type incompleteError struct{ what string }

func (e *incompleteError) Error() string              { return ErrIncompleteResponse.Error() + ": " + e.what }
func (e *incompleteError) Is(target error) bool       { return target == ErrIncompleteResponse }
func (e *incompleteError) GRPCStatus() *status.Status { return status.New(codes.Internal, e.Error()) }

func incomplete(format string, args ...any) error {
	return &incompleteError{what: fmt.Sprintf(format, args...)}
}

// call runs one unary RPC under the per-call timeout; a shorter deadline
// already on ctx still wins.
func call[Req, Resp any](ctx context.Context, timeout time.Duration,
	fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fn(ctx, req)
}

// object is the shape shared by Machine, Volume, Bucket and VolumeSnapshot.
type object interface {
	comparable
	GetMetadata() *metav1alpha1.ObjectMetadata
}

// checkObject rejects a missing object or one without an id.
func checkObject[T object](obj T, where string) error {
	var zero T
	if obj == zero {
		return incomplete("%s has no object", where)
	}
	if obj.GetMetadata().GetId() == "" {
		return incomplete("%s has an object without metadata.id", where)
	}
	return nil
}

// checkObjects rejects a list containing an object without an id, which a
// caller could neither key nor address.
func checkObjects[T object](objs []T, where string) error {
	for i, obj := range objs {
		if err := checkObject(obj, fmt.Sprintf("%s item %d", where, i)); err != nil {
			return err
		}
	}
	return nil
}

type versionResponse interface{ GetRuntimeName() string }

// checkVersion validates a Version answer; used by the constructors to
// prove the connection works before handing out a client.
func checkVersion[R versionResponse](kind Kind, resp R, err error) error {
	if st, ok := status.FromError(err); ok && err != nil {
		// Keep the code, drop gRPC's "rpc error: code = ... desc =" framing.
		return status.Errorf(st.Code(), "checking the %s runtime with Version: %s", kind, st.Message())
	}
	if err != nil {
		return fmt.Errorf("checking the %s runtime with Version: %w", kind, err)
	}
	if resp.GetRuntimeName() == "" {
		return fmt.Errorf("checking the %s runtime with Version: %w", kind, incomplete("VersionResponse has no runtime_name"))
	}
	return nil
}

// checked returns resp if err is nil and check accepts it.
func checked[Resp any](resp Resp, err error, check func(Resp) error) (Resp, error) {
	var zero Resp
	if err != nil {
		return zero, err
	}
	if err := check(resp); err != nil {
		return zero, err
	}
	return resp, nil
}

// checkClassNames rejects a class list with an unnamed or missing class.
func checkClassNames(names []string, where string) error {
	for i, n := range names {
		if n == "" {
			return incomplete("%s item %d has no class name", where, i)
		}
	}
	return nil
}
