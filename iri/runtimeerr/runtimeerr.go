// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package runtimeerr is how IRI runtimes (providers) report errors: domain errors of a few kinds,
// each with a message meant for the caller, and ToStatus, the one place where they become gRPC
// status codes (containerd's CRI service does the same with errdefs). Nothing below a runtime's
// gRPC layer needs to know about codes.
package runtimeerr

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
	KindUnsupported
	KindUnavailable
)

// Error is a domain error with a message meant for the caller.
type Error struct {
	Kind Kind
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
	KindUnsupported:        codes.Unimplemented,
	KindUnavailable:        codes.Unavailable,
}

// ToStatus turns err into a gRPC status error: a status error passes through, a domain error gets
// its kind's code, a cancelled or expired context its code, and anything else (a failure nobody
// classified) is Internal.
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
