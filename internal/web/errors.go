// Package web is Atrium's HTTP layer: the server, its middleware, health
// endpoints, the landing page, and the one place where errors become HTTP
// statuses and Backstage's error body.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/heavy"
)

// StatusOf returns the HTTP status for an error kind. This is the only
// mapping from kinds to statuses.
func StatusOf(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.Unauthorized:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.RateLimited:
		return http.StatusTooManyRequests
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	case fault.NotImplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// ErrorBody is Backstage's error response.
type ErrorBody struct {
	Error    ErrorInfo    `json:"error"`
	Request  RequestInfo  `json:"request"`
	Response ResponseInfo `json:"response"`
}

// ErrorInfo names and describes an error.
type ErrorInfo struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// RequestInfo echoes the request an error answers.
type RequestInfo struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// ResponseInfo carries the status code.
type ResponseInfo struct {
	StatusCode int `json:"statusCode"`
}

// Classify turns any error into a fault error: errors from the standard
// library that have an obvious kind get it; anything else is Internal.
func Classify(err error) *fault.Error {
	var fe *fault.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &mbe):
		return fault.Wrap(fault.TooLarge, err, "request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		return fault.Wrap(fault.Unavailable, err, "the request took too long and was stopped")
	case errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Unavailable, err, "the request was cancelled")
	}
	return fault.Wrap(fault.Internal, err, "internal error")
}

// WriteError answers r with err in Backstage's error body, or with the
// error page that WithErrorPage installed when a browser asks (WantsHTML).
// The safe message is shown; the cause is logged with the request id, never
// sent.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, err, errorPageFrom(r.Context()))
}

// WriteHTMLError is WriteError with an explicit error page for browser
// requests, for handlers that render pages themselves.
func WriteHTMLError(w http.ResponseWriter, r *http.Request, err error, page ErrorPageFunc) {
	writeError(w, r, err, page)
}

func writeError(w http.ResponseWriter, r *http.Request, err error, page ErrorPageFunc) {
	fe := Classify(err)
	status := StatusOf(fe.Kind)
	if d, ok := heavy.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
	}
	log := Logger(r.Context())
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		log.Debug("request cancelled", "path", r.URL.Path)
		return
	}
	log.Log(r.Context(), level, "request failed", "kind", string(fe.Kind), "status", status, "error", err.Error())
	if page != nil && WantsHTML(r) {
		page(w, r, status, fe)
		return
	}
	name := string(fe.Kind)
	if fe.Kind == fault.RateLimited || fe.Kind == fault.TooLarge {
		// Backstage has no error names for these; clients expect "Error".
		name = "Error"
	}
	redact := Redactor(r.Context())
	body := ErrorBody{
		Error:    ErrorInfo{Name: name, Message: redact(fe.Message)},
		Request:  RequestInfo{Method: r.Method, URL: redact(r.URL.RequestURI())},
		Response: ResponseInfo{StatusCode: status},
	}
	WriteJSON(w, status, body)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// NotFound answers any request that matched no route.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, fault.New(fault.NotFound, "no route for %s %s", r.Method, r.URL.Path))
}
