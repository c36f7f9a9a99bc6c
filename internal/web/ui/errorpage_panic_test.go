package ui_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// TestPanicPage: a handler that panics gets the same 500 page as any other
// internal error: the generic heading and message and the request id for
// support, and nothing of the panic (its value, which may hold secrets or
// internal error text, or the stack), which only the log has.
func TestPanicPage(t *testing.T) {
	u, err := ui.New(ui.Params{Catalog: struct{ engine.Catalog }{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "pq: password authentication failed for user atrium (password=hunter2)"
	var logs bytes.Buffer
	h := web.NewServer(web.Params{
		Logger:    slog.New(slog.NewJSONHandler(&logs, nil)),
		ErrorPage: u.ErrorPage,
		Public:    []string{"GET /boom", "GET /fail"},
		Routes: []func(web.Mux){func(m web.Mux) {
			m.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic(secret) })
			m.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
				web.WriteError(w, r, fault.Wrap(fault.Internal, io.ErrUnexpectedEOF, "internal error"))
			})
		}},
	}).Handler()
	page := func(path string) (*httptest.ResponseRecorder, *goquery.Document) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept", "text/html")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
		if err != nil {
			t.Fatal(err)
		}
		return rec, doc
	}
	rec, doc := page("/boom")
	if rec.Code != 500 {
		t.Fatalf("status: got %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	for _, leak := range []string{"hunter2", "password", "goroutine", "panic", ".go:"} {
		if strings.Contains(body, leak) {
			t.Errorf("the page shows %q", leak)
		}
	}
	id := rec.Header().Get("X-Request-Id")
	if got := doc.Find(".error-page").Text(); id == "" || !strings.Contains(got, "Request id: "+id) {
		t.Errorf("the page does not show the request id %q: %q", id, got)
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the panic and its stack are not in the log")
	}
	// The same page as another internal error.
	_, other := page("/fail")
	norm := func(d *goquery.Document) string {
		return strings.Join(strings.Fields(d.Find("title").Text()+" "+d.Find(".error-page p strong").Text()+" "+d.Find(".error-page p.muted").First().Text()), " ")
	}
	if got, want := norm(doc), norm(other); got != want || !strings.Contains(got, "Something went wrong on our side") {
		t.Errorf("panic page: got %q, want the other 500 pages' %q", got, want)
	}
}
