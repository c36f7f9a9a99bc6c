package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRoutedOnce checks that the server, which routes each request once
// and then calls the route's handler itself, answers as its ServeMux would
// (path values, HEAD, other methods, redirects, unknown paths, "*"), and that the
// tracing, the metrics and the handler see the pattern mux.Handler gives.
func TestRoutedOnce(t *testing.T) {
	answer := func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Method + " " + r.PathValue("id") + " " + r.Pattern))
	}
	register := func(mux Mux) {
		mux.HandleFunc("GET /items/{id}", answer)
		mux.HandleFunc("POST /items/{id}", answer)
		mux.HandleFunc("GET /dir/", answer)
	}
	ref := http.NewServeMux()
	ref.HandleFunc("/", NotFound)
	register(ref)

	var traced string
	obs := &recordingObserver{}
	h := NewServer(Params{
		Logger:  slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)),
		DB:      fakeDB{},
		Routes:  []func(Mux){register},
		Metrics: obs,
		Trace: func(route func(*http.Request) string) Middleware {
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					traced = route(r)
					next.ServeHTTP(w, r)
				})
			}
		},
	}).Handler()

	tests := []struct {
		method, target string
		status         int
	}{
		{"GET", "/items/7", http.StatusOK},
		{"HEAD", "/items/7", http.StatusOK},
		{"POST", "/items/8", http.StatusOK},
		{"DELETE", "/items/7", http.StatusNotFound}, // the catch-all "/" takes it: no 405
		{"GET", "/dir", http.StatusTemporaryRedirect},
		{"GET", "/items//7", http.StatusTemporaryRedirect},
		{"GET", "/dir/a/b", http.StatusOK},
		{"GET", "/nothing", http.StatusNotFound},
		{"OPTIONS", "*", http.StatusBadRequest},
	}
	for _, tt := range tests {
		want := httptest.NewRecorder()
		ref.ServeHTTP(want, httptest.NewRequest(tt.method, tt.target, nil))
		_, wantPattern := ref.Handler(httptest.NewRequest(tt.method, tt.target, nil))
		if want.Code != tt.status {
			t.Fatalf("%s %s: the reference mux answers %d, want %d", tt.method, tt.target, want.Code, tt.status)
		}

		traced, obs.got = "", nil
		got := do(t, h, tt.method, tt.target, nil)
		if got.Code != want.Code || got.Body.String() != want.Body.String() {
			t.Errorf("%s %s: got %d %q, want %d %q", tt.method, tt.target, got.Code, got.Body, want.Code, want.Body)
		}
		for _, k := range []string{"Location", "Allow", "Content-Type"} {
			if g, w := got.Header().Get(k), want.Header().Get(k); g != w {
				t.Errorf("%s %s: %s: got %q, want %q", tt.method, tt.target, k, g, w)
			}
		}
		if traced != wantPattern {
			t.Errorf("%s %s: traced route %q, want %q", tt.method, tt.target, traced, wantPattern)
		}
		wantObserved := wantPattern
		if wantObserved == "" {
			wantObserved = "unmatched"
		}
		if len(obs.got) != 1 || obs.got[0].route != wantObserved {
			t.Errorf("%s %s: observed %v, want route %q", tt.method, tt.target, obs.got, wantObserved)
		}
	}
}
