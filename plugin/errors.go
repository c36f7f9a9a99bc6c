package plugin

import (
	"errors"
	"fmt"
)

// ErrorKind says what went wrong, so Atrium can answer the user with the
// right status whether the plugin runs in-process or over gRPC.
type ErrorKind string

// The error kinds a plugin can return. Any other error counts as
// ErrInternal: the plugin's fault.
const (
	// ErrInvalid: the input (action input, event body, configuration) is wrong.
	ErrInvalid ErrorKind = "invalid"
	// ErrNotFound: something the input names does not exist.
	ErrNotFound ErrorKind = "not_found"
	// ErrUnauthorized: a signature or token does not check out.
	ErrUnauthorized ErrorKind = "unauthorized"
	// ErrForbidden: the credentials are valid but not allowed.
	ErrForbidden ErrorKind = "forbidden"
	// ErrConflict: the change clashes with the current state.
	ErrConflict ErrorKind = "conflict"
	// ErrUnavailable: a system the plugin depends on is down; retry later.
	ErrUnavailable ErrorKind = "unavailable"
	// ErrInternal: a bug or an unexpected failure in the plugin.
	ErrInternal ErrorKind = "internal"
)

// Error is an error with a kind and a message safe to show to users.
type Error struct {
	Kind    ErrorKind
	Message string
	// Err is the cause; in-process it is kept for errors.Is, over gRPC
	// only Message crosses.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an error of the given kind with a formatted message.
// A %w verb wraps the cause.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// KindOf returns the kind of err: the kind of the first *Error in its
// chain, ErrInternal when there is none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) && e.Kind != "" {
		return e.Kind
	}
	return ErrInternal
}
