package libvirt

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorKind classifies a domain error; the gRPC layer maps each kind to one code (toStatus).
type ErrorKind int

const (
	KindInvalid ErrorKind = iota + 1
	KindNotFound
	KindAlreadyExists
	KindExhausted
	KindFailedPrecondition
	KindUnsupported
	KindUnavailable
)

// Error is a domain error with a message meant for the caller.
type Error struct {
	Kind ErrorKind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is matches the sentinels below by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrInvalid            = &Error{Kind: KindInvalid}
	ErrNotFound           = &Error{Kind: KindNotFound}
	ErrAlreadyExists      = &Error{Kind: KindAlreadyExists}
	ErrFailedPrecondition = &Error{Kind: KindFailedPrecondition}
	ErrUnavailable        = &Error{Kind: KindUnavailable}
)

func newErr(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error  { return newErr(KindInvalid, format, args...) }
func notFoundf(format string, args ...any) error { return newErr(KindNotFound, format, args...) }

var codeOf = map[ErrorKind]codes.Code{
	KindInvalid:            codes.InvalidArgument,
	KindNotFound:           codes.NotFound,
	KindAlreadyExists:      codes.AlreadyExists,
	KindExhausted:          codes.ResourceExhausted,
	KindFailedPrecondition: codes.FailedPrecondition,
	KindUnsupported:        codes.Unimplemented,
	KindUnavailable:        codes.Unavailable,
}

// toStatus is the one place where domain errors become gRPC status codes.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return status.Error(codeOf[e.Kind], err.Error())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Internal, err.Error())
}
