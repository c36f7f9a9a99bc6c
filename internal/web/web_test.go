package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

type fakeDB struct {
	err    error
	counts map[string]int
}

func (f fakeDB) Ping(ctx context.Context) error { return f.err }
func (f fakeDB) EntityCount(ctx context.Context) (map[string]int, error) {
	return f.counts, f.err
}

func newTestServer(t testing.TB, db fakeDB, logs *bytes.Buffer, routes ...func(Mux)) http.Handler {
	t.Helper()
	return NewServer(Params{
		Logger:          slog.New(slog.NewJSONHandler(logs, nil)),
		DB:              db,
		Routes:          routes,
		MaxRequestBytes: 16,
		RequestTimeout:  time.Minute,
	}).Handler()
}

func do(t testing.TB, h http.Handler, method, path string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestReadinessWhileLoading checks that both readiness routes answer 503
// with the reason while the first load of the catalog runs, and 200 after
// it, and that liveness is unaffected.
func TestReadinessWhileLoading(t *testing.T) {
	var loaded atomic.Bool
	h := NewServer(Params{
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
		DB:      fakeDB{},
		Loading: func() bool { return !loaded.Load() },
	}).Handler()
	for _, path := range []string{"/readyz", "/.backstage/health/v1/readiness"} {
		rec := do(t, h, "GET", path, nil)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"message":"not ready: this replica's first load of the catalog is still running"`) {
			t.Errorf("%s while loading: got %v %s, want 503 with the reason", path, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Retry-After"); got == "" {
			t.Errorf("%s while loading: no Retry-After", path)
		}
		if rec := do(t, h, "GET", "/healthz", nil); rec.Code != 200 {
			t.Errorf("/healthz while loading: got %v, want 200", rec.Code)
		}
	}
	loaded.Store(true)
	for _, path := range []string{"/readyz", "/.backstage/health/v1/readiness"} {
		if rec := do(t, h, "GET", path, nil); rec.Code != 200 {
			t.Errorf("%s after loading: got %v %s, want 200", path, rec.Code, rec.Body)
		}
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name   string
		dbErr  error
		path   string
		status int
		body   string
	}{
		{"liveness", nil, "/.backstage/health/v1/liveness", 200, `{"status":"ok"}`},
		{"readiness", nil, "/.backstage/health/v1/readiness", 200, `{"status":"ok"}`},
		{"healthz", errors.New("down"), "/healthz", 200, `{"status":"ok"}`},
		{"readyz ok", nil, "/readyz", 200, `{"status":"ok"}`},
		{"readyz down", errors.New("connection refused"), "/readyz", 503, `"name":"ServiceUnavailableError"`},
		{"readiness down", errors.New("connection refused"), "/.backstage/health/v1/readiness", 503, `"statusCode":503`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := do(t, newTestServer(t, fakeDB{err: tt.dbErr}, &logs), "GET", tt.path, nil)
			if rec.Code != tt.status {
				t.Errorf("status: got %v, want %v", rec.Code, tt.status)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body: got %v, want it to contain %v", rec.Body.String(), tt.body)
			}
			if strings.Contains(rec.Body.String(), "connection refused") {
				t.Errorf("body leaks the cause: %v", rec.Body.String())
			}
		})
	}
}

func TestWriteErrorMapping(t *testing.T) {
	tests := []struct {
		err    error
		status int
		name   string
		msg    string
	}{
		{fault.New(fault.Invalid, "bad filter"), 400, "InputError", "bad filter"},
		{fault.New(fault.NotFound, "No entity with uid x"), 404, "NotFoundError", "No entity with uid x"},
		{fault.New(fault.Conflict, "exists"), 409, "ConflictError", "exists"},
		{fault.New(fault.Forbidden, "readonly"), 403, "NotAllowedError", "readonly"},
		{fault.New(fault.Unauthorized, "who"), 401, "AuthenticationError", "who"},
		{fault.New(fault.NotImplemented, "later"), 501, "NotImplementedError", "later"},
		{fault.New(fault.RateLimited, "slow down"), 429, "Error", "slow down"},
		{errors.New("pq: secret table exploded"), 500, "Error", "internal error"},
		{context.DeadlineExceeded, 503, "ServiceUnavailableError", "the request took too long and was stopped"},
		{&http.MaxBytesError{Limit: 10}, 413, "Error", "request body is larger than 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name+tt.msg, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest("GET", "/api/catalog/x?y=1", nil), tt.err)
			var body ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("decoding %q: %v", rec.Body.String(), err)
			}
			want := ErrorBody{
				Error:    ErrorInfo{Name: tt.name, Message: tt.msg},
				Request:  RequestInfo{Method: "GET", URL: "/api/catalog/x?y=1"},
				Response: ResponseInfo{StatusCode: tt.status},
			}
			if rec.Code != tt.status || body != want {
				t.Errorf("got %d %+v, want %d %+v", rec.Code, body, tt.status, want)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, fakeDB{}, &logs, func(mux Mux) {
		mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("kaboom") })
		mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				WriteError(w, r, err)
				return
			}
			w.WriteHeader(204)
		})
		mux.HandleFunc("GET /logs", func(w http.ResponseWriter, r *http.Request) {
			Logger(r.Context()).Info("inner", "route", Pattern(r.Context()))
		})
		mux.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Context().Deadline(); !ok {
				t.Errorf("request has no deadline")
			}
		})
	})

	rec := do(t, h, "GET", "/boom", nil)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"message":"internal error"`) {
		t.Errorf("panic: got %d %s, want 500 internal error", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "kaboom") {
		t.Errorf("panic not logged: %s", logs.String())
	}
	if rec.Header().Get(RequestIDHeader) == "" {
		t.Errorf("no request id header")
	}

	rec = do(t, h, "POST", "/echo", strings.NewReader(strings.Repeat("x", 100)))
	if rec.Code != 413 {
		t.Errorf("big body: got %d, want 413", rec.Code)
	}
	rec = do(t, h, "POST", "/echo", strings.NewReader("small"))
	if rec.Code != 204 {
		t.Errorf("small body: got %d, want 204", rec.Code)
	}
	// A body of unknown length (chunked) is bounded while it is read; only
	// http.NoBody goes unwrapped.
	req := httptest.NewRequest("POST", "/echo", io.MultiReader(strings.NewReader(strings.Repeat("x", 100))))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("big body of unknown length: got %d, want 413", rec.Code)
	}
	do(t, h, "GET", "/deadline", nil)

	req = httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set(RequestIDHeader, "abc-123")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Header().Get(RequestIDHeader); got != "abc-123" {
		t.Errorf("request id: got %v, want abc-123", got)
	}
	if !strings.Contains(logs.String(), `"request_id":"abc-123"`) || !strings.Contains(logs.String(), `"path":"/healthz"`) {
		t.Errorf("access log missing: %s", logs.String())
	}
	// The header holds exactly the id; the access log line has the
	// answer's status and size.
	if got := rec.Header()[RequestIDHeader]; len(got) != 1 || got[0] != "abc-123" {
		t.Errorf("request id header: got %q, want [abc-123]", got)
	}
	if want := fmt.Sprintf(`"request_id":"abc-123","method":"GET","path":"/healthz","status":200,"bytes":%d,"ms":`, rec.Body.Len()); !strings.Contains(logs.String(), want) {
		t.Errorf("access log: got %s, want a line with %s", logs.String(), want)
	}
	if want := `"method":"POST","path":"/echo","status":413,"bytes":`; !strings.Contains(logs.String(), want) {
		t.Errorf("access log: got %s, want a line with %s", logs.String(), want)
	}

	// The handler's logger and the access log line both carry the id, as
	// the first attribute after the message.
	req = httptest.NewRequest("GET", "/logs", nil)
	req.Header.Set(RequestIDHeader, "id-logs")
	h.ServeHTTP(httptest.NewRecorder(), req)
	for _, want := range []string{`"msg":"inner","request_id":"id-logs","route":"GET /logs"`, `"msg":"http","request_id":"id-logs","method":"GET","path":"/logs","status":200`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lines: want %s in %s", want, logs.String())
		}
	}

	rec = do(t, h, "GET", "/nothing/here", nil)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "NotFoundError") {
		t.Errorf("unknown route: got %d %s, want 404 NotFoundError", rec.Code, rec.Body.String())
	}
}

// TestGeneratedRequestID: a request without a sane X-Request-Id gets a new
// id of 24 hex digits, the same in the response header, the access log and
// RequestID, and different for every request.
func TestGeneratedRequestID(t *testing.T) {
	var logs bytes.Buffer
	var seen []string
	h := newTestServer(t, fakeDB{}, &logs, func(mux Mux) {
		mux.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, RequestID(r.Context()))
		})
	})
	ids := map[string]bool{}
	for i, sent := range []string{"", "", "bad id!", strings.Repeat("x", 65)} {
		req := httptest.NewRequest("GET", "/id", nil)
		if sent != "" {
			req.Header.Set(RequestIDHeader, sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		id := rec.Header().Get(RequestIDHeader)
		if len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Errorf("request %d: got id %q, want 24 hex digits", i, id)
		}
		if seen[i] != id {
			t.Errorf("request %d: RequestID got %q, want the header's %q", i, seen[i], id)
		}
		if !strings.Contains(logs.String(), `"request_id":"`+id+`","method":"GET","path":"/id"`) {
			t.Errorf("request %d: no access log line with id %s in %s", i, id, logs.String())
		}
		if ids[id] {
			t.Errorf("request %d: id %s given twice", i, id)
		}
		ids[id] = true
	}
}
