package web

import (
	"log/slog"
	"net/http"
	"time"
)

// Params configure a Server.
type Params struct {
	Logger *slog.Logger
	// DB answers readiness checks.
	DB Pinger
	// Counter feeds the landing page.
	Counter Counter
	// Routes registers the API routes on the server's mux.
	Routes []func(mux *http.ServeMux)
	// MaxRequestBytes bounds request bodies.
	MaxRequestBytes int64
	// RequestTimeout bounds the handling of one request.
	RequestTimeout time.Duration
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
}

// Server is Atrium's HTTP handler with its middleware.
type Server struct {
	handler http.Handler
	p       Params
}

// NewServer builds the routes and middleware.
func NewServer(p Params) *Server {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", liveness)
	mux.HandleFunc("GET /readyz", readiness(p.DB))
	mux.HandleFunc("GET /.backstage/health/v1/liveness", liveness)
	mux.HandleFunc("GET /.backstage/health/v1/readiness", readiness(p.DB))
	mux.HandleFunc("GET /{$}", home(p.Counter))
	mux.HandleFunc("/", NotFound)
	for _, register := range p.Routes {
		register(mux)
	}
	h := Chain(mux,
		WithRequestID(p.Logger),
		AccessLog,
		Recover,
		LimitBody(p.MaxRequestBytes),
		Timeout(p.RequestTimeout),
	)
	return &Server{handler: h, p: p}
}

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
