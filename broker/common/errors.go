package common

import (
	"context"
	"errors"

	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Invalidf is an InvalidArgument error for the IRI caller.
func Invalidf(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// NotFoundf is a NotFound error for the IRI caller.
func NotFoundf(format string, args ...any) error {
	return status.Errorf(codes.NotFound, format, args...)
}

// AlreadyExistsf is an AlreadyExists error for the IRI caller.
func AlreadyExistsf(format string, args ...any) error {
	return status.Errorf(codes.AlreadyExists, format, args...)
}

// ToStatus turns an error from a downstream call into a gRPC status error
// whose code says what the caller can do. Errors that already carry a gRPC
// status are returned unchanged.
func (d *Downstream) ToStatus(what string, err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return err // already a status for the IRI caller
	}
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return status.Errorf(codes.Unavailable, "%s: downstream cluster %s is unavailable (circuit breaker open after repeated failures; retry later)", what, d.Host)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.DeadlineExceeded, "%s: downstream cluster %s: %v", what, d.Host, err)
	case errors.Is(err, context.Canceled):
		return status.Errorf(codes.Canceled, "%s: %v", what, err)
	case apierrors.IsNotFound(err):
		return status.Errorf(codes.NotFound, "%s: %v", what, err)
	case apierrors.IsAlreadyExists(err):
		return status.Errorf(codes.AlreadyExists, "%s: %v", what, err)
	case apierrors.IsConflict(err):
		return status.Errorf(codes.Aborted, "%s: concurrent change downstream, retry: %v", what, err)
	case apierrors.IsRequestEntityTooLargeError(err):
		return status.Errorf(codes.ResourceExhausted, "%s: downstream cluster %s refused it as too large (labels, annotations and ignition must fit in one object of at most about 1.5 MiB): %v", what, d.Host, err)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return status.Errorf(codes.InvalidArgument, "%s: downstream cluster %s rejected it: %v", what, d.Host, err)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return status.Errorf(codes.PermissionDenied, "%s: downstream cluster %s: %v", what, d.Host, err)
	case isDownstreamFailure(err):
		return status.Errorf(codes.Unavailable, "%s: downstream cluster %s: %v", what, d.Host, err)
	}
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}

// isDownstreamFailure says whether err means the downstream cluster is
// unhealthy (counts against the breaker), as opposed to a request the
// cluster answered (NotFound, Conflict, Invalid, ...).
func isDownstreamFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		code := st.Status().Code
		return code >= 500 || code == 429 || code == 0
	}
	return true
}
