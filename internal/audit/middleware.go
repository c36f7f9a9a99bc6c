package audit

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/web"
)

// state is what the middleware knows about the request being served.
type state struct {
	log *Log
	// remoteAddr is the request's peer address; its IP (clientIP) is
	// only taken out of it for a record, which few requests get.
	remoteAddr string
	userAgent  string
	requestID  string
	// principal is set by CapturePrincipal once authentication has run.
	principal atomic.Pointer[auth.Principal]
	// recorded counts events that handlers recorded for this request.
	recorded atomic.Int32
	// readOnly is set by ReadOnly: the request only reads, whatever its
	// method.
	readOnly atomic.Bool
	// rec watches the answer's status; it lives in the state so that a
	// request costs one allocation for both.
	rec statusRecorder
}

type stateKey struct{}

func stateFrom(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

func (st *state) fill(ev *Event) {
	if ev.IP == "" {
		ev.IP = clientIP(st.remoteAddr)
	}
	if ev.UserAgent == "" {
		ev.UserAgent = st.userAgent
	}
	if ev.RequestID == "" {
		ev.RequestID = st.requestID
	}
}

// Middleware records, after the answer, every state-changing request (any
// method but GET, HEAD and OPTIONS, unless the handler called ReadOnly)
// with its outcome, and every request answered 401 or 403 as denied. The action is the route pattern the
// request matched. A request for which a handler already called Record is
// not recorded again: the handler knew more. It must run before
// authentication (to see its refusals); CapturePrincipal, placed after
// authentication, tells it who the caller was.
func (l *Log) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{
			log:        l,
			remoteAddr: r.RemoteAddr,
			userAgent:  r.UserAgent(),
			requestID:  web.RequestID(r.Context()),
		}
		rec := &st.rec
		rec.ResponseWriter = w
		// The state rides in the web request state when there is one,
		// which saves a copy of the request and a context.
		if web.SetRequestValue(r.Context(), stateKey{}, st) {
			next.ServeHTTP(rec, r)
		} else {
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		}

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		mutating := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions &&
			!st.readOnly.Load()
		denied := status == http.StatusUnauthorized || status == http.StatusForbidden
		if (!mutating && !denied) || st.recorded.Load() > 0 {
			return
		}
		action := web.Pattern(r.Context())
		if action == "" {
			action = r.Method + " " + r.URL.Path
		}
		ev := Event{
			Actor:     actorOf(st.principal.Load()),
			Action:    action,
			Resource:  r.URL.Path,
			Outcome:   outcomeOf(status),
			Status:    status,
			IP:        clientIP(st.remoteAddr),
			UserAgent: st.userAgent,
			RequestID: st.requestID,
			Details:   map[string]any{"method": r.Method},
		}
		// The request's context may be cancelled (client gone, timeout);
		// the record must still be written.
		ctx := context.WithoutCancel(r.Context())
		if _, err := l.Append(ctx, ev); err != nil {
			web.Logger(r.Context()).Error("audit record lost", "action", action, "error", err.Error())
		}
	})
}

// ReadOnly tells the audit middleware that the request only reads although
// its method is not GET: a query whose arguments travel in the body
// (Backstage's POST entities/by-refs). It is then recorded only when
// refused, like a GET. Recording it cost a serialised append per read
// (the chain head's row lock and a synchronous commit on PostgreSQL),
// which queued a catalog page's by-refs behind one another under load.
func ReadOnly(ctx context.Context) {
	if st := stateFrom(ctx); st != nil {
		st.readOnly.Store(true)
	}
}

// CapturePrincipal tells the audit middleware who the authenticated caller
// is. Place it right after authentication.
func CapturePrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateFrom(r.Context()); st != nil {
			if p := auth.PrincipalFrom(r.Context()); p != nil {
				st.principal.Store(p)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func outcomeOf(status int) Outcome {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests:
		return Denied
	case status >= 400:
		return Failed
	}
	return Succeeded
}

// clientIP is the peer address without the port. Forwarded headers are not
// trusted: they are set by whoever sends the request.
func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// statusRecorder remembers the status of the answer and unwraps to the
// original writer so flushing still works.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush sends buffered data (event streams need it).
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
