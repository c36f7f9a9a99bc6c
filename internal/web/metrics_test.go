package web

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type observed struct {
	route, method string
	status        int
}

type recordingObserver struct {
	mu  sync.Mutex
	got []observed
}

func (o *recordingObserver) ObserveRequest(route, method string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observed{route, method, status})
}

// TestObserveRequests: requests are observed by route pattern with their
// status, a panic as 500, a request no route takes as "/" (the catch-all).
func TestObserveRequests(t *testing.T) {
	o := &recordingObserver{}
	srv := NewServer(Params{
		DB:      fakeDB{},
		Metrics: o,
		Routes: []func(Mux){func(m Mux) {
			m.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
			m.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
		}},
	})
	for _, path := range []string{"/items/42", "/items/43", "/boom", "/nowhere"} {
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	want := []observed{
		{"GET /items/{id}", "GET", 202},
		{"GET /items/{id}", "GET", 202},
		{"GET /boom", "GET", 500},
		{"/", "GET", 404},
	}
	if len(o.got) != len(want) {
		t.Fatalf("observed: got %v, want %v", o.got, want)
	}
	for i := range want {
		if o.got[i] != want[i] {
			t.Errorf("request %d: got %+v, want %+v", i, o.got[i], want[i])
		}
	}
}
