package api

import (
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestWriteRaw(t *testing.T) {
	body := []byte(`{"kind":"Component"}`)
	rec := httptest.NewRecorder()
	writeRaw(rec, body)
	if got, want := rec.Body.String(), string(body)+"\n"; got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
	if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(len(body)+1); got != want {
		t.Errorf("Content-Length: got %s, want %s", got, want)
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
