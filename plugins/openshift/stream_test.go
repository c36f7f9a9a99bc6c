package openshift

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

// TestStreamTransportHandlerPanic: the simulator's handler runs on a
// goroutine the plugin starts through its Host's Go; a panic in it is
// recovered there (reported to the Host) and the response ends short,
// instead of ending the process.
func TestStreamTransportHandlerPanic(t *testing.T) {
	panics := make(chan error, 2)
	host := plugin.Host{Spawn: func(name string, fn func()) {
		go func() { panics <- guard.Call(nil, ID, name, func() error { fn(); return nil }) }()
	}}
	for _, tc := range []struct {
		name       string
		h          http.HandlerFunc
		wantStatus int
		wantBody   string
	}{
		{"after writing", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("partial")); panic("boom") }, http.StatusOK, "partial"},
		{"before writing", func(http.ResponseWriter, *http.Request) { panic("boom") }, http.StatusInternalServerError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := streamTransport{h: tc.h, goFn: host.Go}
			res, err := tr.RoundTrip(httptest.NewRequest("GET", "http://sim.invalid/api", nil))
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			body, err := io.ReadAll(res.Body)
			if res.StatusCode != tc.wantStatus || string(body) != tc.wantBody || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("got status %d, body %q, error %v; want %d, %q, %v", res.StatusCode, body, err, tc.wantStatus, tc.wantBody, io.ErrUnexpectedEOF)
			}
			if err := <-panics; !guard.IsPanic(err) {
				t.Errorf("the Host's goroutine: got %v, want the recovered panic", err)
			}
		})
	}
	tr := streamTransport{h: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }), goFn: host.Go}
	res, err := tr.RoundTrip(httptest.NewRequest("GET", "http://sim.invalid/api", nil))
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	if body, err := io.ReadAll(res.Body); string(body) != "ok" || err != nil {
		t.Errorf("a handler that does not panic: got %q, %v; want ok", body, err)
	}
	if err := <-panics; err != nil {
		t.Errorf("a handler that does not panic: the Host's goroutine got %v", err)
	}
}
