package tracing_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/atrium-portal/atrium/internal/tracing"
)

// grpcCollector is an OTLP/gRPC trace receiver on 127.0.0.1.
type grpcCollector struct {
	coltrace.UnimplementedTraceServiceServer
	mu      sync.Mutex
	names   []string
	headers []string
}

func (c *grpcCollector) Export(ctx context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headers = append(c.headers, md.Get("x-token")...)
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.names = append(c.names, s.Name)
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// TestGRPC: protocol grpc exports to host:port with the configured headers.
func TestGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	col := &grpcCollector{}
	coltrace.RegisterTraceServiceServer(srv, col)
	go srv.Serve(ln)
	defer srv.Stop()

	p, err := tracing.Start(context.Background(), tracing.Config{
		Endpoint: ln.Addr().String(), Protocol: "grpc", Insecure: true, SampleRatio: 1,
		Headers: map[string]string{"x-token": "s3cret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	h := p.Middleware(func(*http.Request) string { return "POST /api/catalog/refresh" })(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/catalog/refresh", nil))
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.names) != 1 || col.names[0] != "POST /api/catalog/refresh" {
		t.Errorf("spans over gRPC: got %q, want the request's", col.names)
	}
	if len(col.headers) == 0 || col.headers[0] != "s3cret" {
		t.Errorf("x-token header: got %q, want s3cret", col.headers)
	}
}
