// Package fault is Atrium's one error model: a closed set of kinds, each mapped
// to an HTTP status exactly once (in internal/web), plus who is to blame.
//
// Users see Message; the wrapped cause is logged, never shown.
package fault

import (
	"errors"
	"fmt"
)

// Kind is one of a closed set of error kinds.
type Kind string

// The kinds. Names follow Backstage's error names so the API can answer with them.
const (
	Invalid        Kind = "InputError"              // the caller sent something wrong (400)
	Unauthorized   Kind = "AuthenticationError"     // no or bad credentials (401)
	Forbidden      Kind = "NotAllowedError"         // authenticated, not allowed (403)
	NotFound       Kind = "NotFoundError"           // no such thing (404)
	Conflict       Kind = "ConflictError"           // clashes with current state (409)
	TooLarge       Kind = "PayloadTooLargeError"    // over a configured limit (413)
	RateLimited    Kind = "TooManyRequestsError"    // slow down (429)
	Unavailable    Kind = "ServiceUnavailableError" // try again later (503)
	NotImplemented Kind = "NotImplementedError"     // (501)
	Internal       Kind = "Error"                   // our fault (500)
)

// Source says whose fault an error is.
type Source string

// The sources.
const (
	SourceCaller   Source = "caller"
	SourceServer   Source = "server"
	SourceUpstream Source = "upstream" // an external system such as GitLab
)

// Error is an error with a kind, a safe message and an optional cause.
type Error struct {
	Kind    Kind
	Message string // safe to show to the caller
	Source  Source
	Err     error // internal cause; logged, never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Source: defaultSource(k)}
}

// Wrap returns an error of kind k with a safe message that wraps cause.
func Wrap(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Source: defaultSource(k), Err: cause}
}

// Upstream marks an error as caused by an external system.
func Upstream(cause error, format string, args ...any) *Error {
	return &Error{Kind: Unavailable, Message: fmt.Sprintf(format, args...), Source: SourceUpstream, Err: cause}
}

func defaultSource(k Kind) Source {
	switch k {
	case Internal, NotImplemented:
		return SourceServer
	case Unavailable:
		return SourceServer
	}
	return SourceCaller
}

// KindOf returns the kind of err, Internal when err carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// MessageOf returns the message safe to show for err.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
