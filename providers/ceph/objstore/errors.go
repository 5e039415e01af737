// Package objstore is what the Ceph volume and bucket runtimes share: domain
// errors and their gRPC codes, ids, label filters, an in-memory index of the
// objects (rebuilt from Ceph on start) that feeds lists and watches, and a
// bounded event log with event times in Unix seconds.
package objstore

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Kind classifies a domain error; ToStatus maps each kind to one gRPC code.
type Kind int

const (
	KindInvalid Kind = iota + 1
	KindNotFound
	KindAlreadyExists
	KindExhausted
	KindFailedPrecondition
	KindUnavailable
)

// Error is a domain error with a message meant for the caller.
type Error struct {
	Kind Kind
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
	ErrExhausted          = &Error{Kind: KindExhausted}
	ErrFailedPrecondition = &Error{Kind: KindFailedPrecondition}
	ErrUnavailable        = &Error{Kind: KindUnavailable}
)

// Errorf returns a domain error of kind.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Invalidf and NotFoundf are the two most common domain errors.
func Invalidf(format string, args ...any) error  { return Errorf(KindInvalid, format, args...) }
func NotFoundf(format string, args ...any) error { return Errorf(KindNotFound, format, args...) }

var codeOf = map[Kind]codes.Code{
	KindInvalid:            codes.InvalidArgument,
	KindNotFound:           codes.NotFound,
	KindAlreadyExists:      codes.AlreadyExists,
	KindExhausted:          codes.ResourceExhausted,
	KindFailedPrecondition: codes.FailedPrecondition,
	KindUnavailable:        codes.Unavailable,
}

// ToStatus is the one place where domain errors become gRPC status codes;
// anything else (a Ceph failure we did not classify) is Internal.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
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
