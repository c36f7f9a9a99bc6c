package web

import (
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Params configure a Server.
type Params struct {
	Logger *slog.Logger
	// DB answers readiness checks.
	DB Pinger
	// Loading, when set, reports that this process has not finished its
	// first load of the catalog yet; readiness answers 503 meanwhile.
	Loading func() bool
	// ErrorPage, when set, renders errors for browser requests (the
	// portal's 404/403/500 pages); API clients keep the JSON body.
	ErrorPage ErrorPageFunc
	// Routes register the API and UI routes on the server's mux.
	Routes []func(mux Mux)
	// Public lists route patterns (as registered) that need no principal,
	// besides the health checks: sign-in, static assets. Everything else
	// is refused by Authenticate to callers without credentials.
	Public []string
	// Authenticate, when set, runs before routing and puts the caller's
	// principal into the request context or refuses the request; it reads
	// IsPublic to let public routes through.
	Authenticate Middleware
	// Security configures headers, CORS, rate limits, CSRF and audit.
	Security Security
	// MaxRequestBytes bounds request bodies.
	MaxRequestBytes int64
	// RequestTimeout bounds the handling of one request.
	RequestTimeout time.Duration
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
	// Metrics, when set, observes every request (route, status, latency).
	Metrics RequestObserver
	// Heavy, when set, bounds heavy operations after authentication
	// (LimitHeavy).
	Heavy Middleware
	// Trace, when set, builds the middleware that traces each request; it
	// is given the function naming a request's route pattern.
	Trace func(route func(*http.Request) string) Middleware
}

// Server is Atrium's HTTP handler with its middleware.
type Server struct {
	handler http.Handler
	p       Params
	mux     *recordingMux
	public  *publicMatcher
}

// NewServer builds the routes and middleware.
func NewServer(p Params) *Server {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	rm := &recordingMux{mux: http.NewServeMux()}
	var mux Mux = rm
	mux.HandleFunc("GET /healthz", liveness)
	mux.HandleFunc("GET /readyz", readiness(p.DB, p.Loading))
	mux.HandleFunc("GET /.backstage/health/v1/liveness", liveness)
	mux.HandleFunc("GET /.backstage/health/v1/readiness", readiness(p.DB, p.Loading))
	mux.HandleFunc("/", NotFound)
	for _, register := range p.Routes {
		register(mux)
	}
	public := newPublicMatcher(append(slices.Clone(HealthRoutes), p.Public...))
	authn := p.Authenticate
	if authn == nil {
		authn = func(h http.Handler) http.Handler { return h }
	}
	sec := p.Security
	var trace Middleware
	if p.Trace != nil {
		trace = p.Trace(func(r *http.Request) string {
			s, r := withState(r)
			s.routeOn(rm.mux, r)
			return s.pattern
		})
	}
	h := Chain(dispatch(rm.mux),
		TrustProxy(sec.TrustProxy),
		WithRequestID(p.Logger),
		orNoop(trace), // before the access log, so its line carries the trace id
		withRedact(sec.Redact),
		WithErrorPage(p.ErrorPage),
		AccessLog,
		Recover,
		withPattern(rm.mux),
		observeRequests(p.Metrics),
		AnonymousRateLimit(sec.RateLimit), // before the audit log records refused anonymous requests
		orNoop(sec.Audit),
		SecurityHeaders(sec.Headers),
		CORS(sec.CORS),
		LimitBody(p.MaxRequestBytes),
		Timeout(p.RequestTimeout),
		markPublic(public),
		authn,
		orNoop(sec.AuditPrincipal),
		RateLimit(sec.RateLimit),
		CSRF(sec.CSRF),
		orNoop(p.Heavy),
	)
	return &Server{handler: h, p: p, mux: rm, public: public}
}

// HealthRoutes are the health check routes; they are always public.
var HealthRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /.backstage/health/v1/liveness",
	"GET /.backstage/health/v1/readiness",
}

// Routes returns every route pattern registered on the server, in
// registration order.
func (s *Server) Routes() []string { return s.mux.routes() }

// PublicRoutes returns the patterns that need no principal.
func (s *Server) PublicRoutes() []string { return slices.Clone(s.public.patterns) }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for s with Atrium's timeouts. There is
// no WriteTimeout: streamed lists are bounded by the request timeout instead.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    s.p.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.p.Logger.Handler(), slog.LevelWarn),
	}
}
