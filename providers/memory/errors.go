package memory

import "fmt"

// ErrorKind classifies a domain error. The gRPC layer maps each kind to one
// status code (see toStatus); nothing below the gRPC layer knows about codes.
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

// Is makes errors.Is(err, ErrNotFound) and friends match by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is; they carry no message.
var (
	ErrInvalid            = &Error{Kind: KindInvalid}
	ErrNotFound           = &Error{Kind: KindNotFound}
	ErrAlreadyExists      = &Error{Kind: KindAlreadyExists}
	ErrExhausted          = &Error{Kind: KindExhausted}
	ErrFailedPrecondition = &Error{Kind: KindFailedPrecondition}
	ErrUnsupported        = &Error{Kind: KindUnsupported}
	ErrUnavailable        = &Error{Kind: KindUnavailable}
)

func newErr(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error  { return newErr(KindInvalid, format, args...) }
func notFoundf(format string, args ...any) error { return newErr(KindNotFound, format, args...) }
