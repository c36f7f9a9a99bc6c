package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/engine"
)

func TestWriteRaw(t *testing.T) {
	body := []byte(`{"kind":"Component"}`)
	rec := httptest.NewRecorder()
	writeRaw(rec, body)
	if got, want := rec.Body.String(), string(body)+"\n"; got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type: got %q", got)
	}
	// The shared value must not change when one answer adds to it.
	rec.Header().Add("Content-Type", "text/plain")
	if len(jsonContentType) != 1 || jsonContentType[0] != "application/json; charset=utf-8" {
		t.Errorf("shared Content-Type value changed: %q", jsonContentType)
	}
	rec2 := httptest.NewRecorder()
	writeRaw(rec2, body)
	if got := rec2.Header().Values("Content-Type"); len(got) != 1 {
		t.Errorf("second answer's Content-Type: got %q, want one value", got)
	}
}

// TestWriteEntityContentLength: an answer carries Content-Length on the
// wire, not chunked, whether writeAnswer sets it (large) or net/http's
// server adds it (small), and its body is the JSON and a newline.
func TestWriteEntityContentLength(t *testing.T) {
	for _, size := range []int{20, autoContentLength - 2, autoContentLength - 1, autoContentLength, autoContentLength + 1, 3 * autoContentLength} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			js := `{"k":"` + strings.Repeat("x", size-8) + `"}`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeEntity(w, &engine.Raw{JSON: []byte(js)})
			}))
			defer srv.Close()
			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(body), js+"\n"; got != want {
				t.Errorf("body: got %d bytes, want %d", len(got), len(want))
			}
			if got, want := res.Header.Get("Content-Length"), strconv.Itoa(len(js)+1); got != want {
				t.Errorf("Content-Length: got %q, want %s", got, want)
			}
			if len(res.TransferEncoding) != 0 {
				t.Errorf("Transfer-Encoding: got %q, want none", res.TransferEncoding)
			}
		})
	}
}
