package web

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"runtime/debug"
	"time"
	"unsafe"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first one listed runs first.
func Chain(h http.Handler, mw ...Middleware) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// ctxKey is the type of the package's context keys. Every key is declared
// here, in one iota block, so that two can never share a value.
type ctxKey int

const (
	keyState  ctxKey = iota // state.go: what the middleware knows of the request
	keyLogger               // tracelog.go: a logger set by ContextWithLogger
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// RequestID returns the id of the request that ctx belongs to.
func RequestID(ctx context.Context) string {
	if s := stateOf(ctx); s != nil {
		return s.id
	}
	return ""
}

// Logger returns the request-scoped logger (with the request id), or the
// default logger outside a request.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	if s := stateOf(ctx); s != nil {
		if l := s.log(); l != nil {
			return l
		}
	}
	return slog.Default()
}

// WithRequestID gives every request an id, taken from X-Request-Id when the
// caller sent a sane one, and a logger that carries it.
func WithRequestID(base *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A new state for every request, also for one re-dispatched
			// through the server with the context of another.
			s := &reqState{Context: r.Context(), base: base}
			id := r.Header.Get(RequestIDHeader)
			if !saneID(id) {
				id = s.newID()
			}
			s.id = id
			s.idHeader[0] = id
			w.Header()[RequestIDHeader] = s.idHeader[:]
			next.ServeHTTP(w, r.WithContext(s))
		})
	}
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		ok := c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newID returns a new request id of 24 hex digits, whose characters live
// in the state's idBuf instead of an allocation of their own. The buffer is
// written once, here, and never again, so the string stays immutable; it
// keeps the state reachable as long as the id is.
//
// The bits come from math/rand/v2, the runtime's per-thread ChaCha8
// generator seeded from the kernel, not from crypto/rand (a getrandom
// call, a third of a microsecond per request): a request id names a
// request in logs and is not a secret (a caller may choose its own with
// X-Request-Id). The CSRF token (package newID) stays on crypto/rand.
func (s *reqState) newID() string {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], mrand.Uint32())
	hex.Encode(s.idBuf[:], b[:])
	return unsafe.String(&s.idBuf[0], len(s.idBuf))
}

// recorder remembers the status and size of a response. It unwraps to the
// original writer so http.ResponseController can still flush.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client.
func (rec *recorder) Flush() {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// AccessLog writes one JSON log line per request.
func AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var rec *recorder
		var st *reqState // the state whose clock readings are this line's
		if s := stateOf(r.Context()); s != nil && s.rec.ResponseWriter == nil && !isRecorder(w) {
			// The first recorder of the request lives in its state.
			s.rec.ResponseWriter = w
			rec, w = &s.rec, &s.rec
			s.start, st = start, s
		} else {
			rec, w = recording(w)
		}
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			ctx := r.Context()
			l, id := accessLogger(ctx)
			if !l.Enabled(ctx, slog.LevelInfo) {
				return
			}
			var end time.Time
			if st != nil && !st.end.IsZero() {
				end = st.end // the request metrics' end
			} else {
				end = time.Now()
			}
			attrs := [8]slog.Attr{}
			a := attrs[:0]
			if id != "" {
				a = append(a, slog.String("request_id", id))
			}
			a = append(a,
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("ms", float64(end.Sub(start).Microseconds())/1000),
				slog.String("remote", r.RemoteAddr),
			)
			// The record goes to the handler directly, as LogAttrs would
			// send it, but without the caller's program counter: Atrium's
			// handlers add no source, and runtime.Callers, which LogAttrs
			// calls for it, was a tenth of the line's cost. The line's
			// time is the one its duration ends at.
			line := slog.NewRecord(end, slog.LevelInfo, "http", 0)
			line.AddAttrs(a...)
			_ = l.Handler().Handle(ctx, line)
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLogger returns the logger of the access log line and the request id
// to add to it: the base logger and the id, which gives the same line as
// the request's logger without building that logger, unless a middleware
// replaced the request's logger (ContextWithLogger).
func accessLogger(ctx context.Context) (*slog.Logger, string) {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l, ""
	}
	if s := stateOf(ctx); s != nil && s.base != nil {
		if l := s.logger.Load(); l != nil {
			return l, ""
		}
		return s.base, s.id
	}
	return slog.Default(), ""
}

// recording returns w's recorder, wrapping w in one when it is not one
// already: the middleware that watch the answer (access log, panics,
// metrics) share one.
func recording(w http.ResponseWriter) (*recorder, http.ResponseWriter) {
	if rec, ok := w.(*recorder); ok {
		return rec, rec
	}
	rec := &recorder{ResponseWriter: w}
	return rec, rec
}

func isRecorder(w http.ResponseWriter) bool {
	_, ok := w.(*recorder)
	return ok
}

// Recover turns a panic in a handler into a logged 500 answer. A panic with
// http.ErrAbortHandler is passed on: it deliberately cuts the connection.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, w := recording(w)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			Logger(r.Context()).Error("panic in handler", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec.status != 0 {
				// The answer has started; cutting the connection is the
				// only honest signal left.
				panic(http.ErrAbortHandler)
			}
			WriteError(rec, r, fault.New(fault.Internal, "internal error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// LimitBody bounds request bodies to max bytes; reading past it fails with
// an *http.MaxBytesError, which WriteError answers with 413.
func LimitBody(max int64) Middleware {
	return func(next http.Handler) http.Handler {
		if max <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				WriteError(w, r, fault.New(fault.TooLarge, "request body is larger than %d bytes", max))
				return
			}
			// http.NoBody (every GET the server reads) has nothing to
			// bound; wrapping it would cost an allocation per request.
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Timeout gives every request a deadline; handlers and the store watch it.
// Event streams (Accept: text/event-stream) are exempt: they last as long
// as the client stays, and their handlers bound their own work.
func Timeout(d time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") == "text/event-stream" {
				next.ServeHTTP(w, r)
				return
			}
			// The request state holds the deadline context, so that it
			// costs no allocation of its own (a new one when the state's
			// is taken: Timeout twice in a chain).
			ctx := r.Context()
			var dc *deadlineCtx
			if s := stateOf(ctx); s != nil && !s.timeoutUsed {
				s.timeoutUsed = true
				dc = &s.timeout
			} else {
				dc = new(deadlineCtx)
			}
			dc.init(ctx, requestStart(ctx), d)
			defer dc.end()
			next.ServeHTTP(w, r.WithContext(dc))
		})
	}
}

// requestStart returns when the access log began the request in ctx, or
// the time now when it has not.
func requestStart(ctx context.Context) time.Time {
	if s := stateOf(ctx); s != nil && !s.start.IsZero() {
		return s.start
	}
	return time.Now()
}
