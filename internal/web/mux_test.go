package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
)

func TestIsPublic(t *testing.T) {
	var logs bytes.Buffer
	h := NewServer(Params{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		DB:     fakeDB{},
		Public: []string{"GET /static/{name}", "GET /auth/login"},
		Routes: []func(Mux){func(mux Mux) {
			answer := func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(strconv.FormatBool(IsPublic(r.Context()))))
			}
			mux.HandleFunc("GET /static/{name}", answer)
			mux.HandleFunc("GET /static/secret.txt", answer) // more specific, not public
			mux.HandleFunc("GET /auth/login", answer)
			mux.HandleFunc("POST /auth/login", answer)
			mux.HandleFunc("GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}", answer)
		}},
	}).Handler()
	tests := []struct {
		method, path string
		want         string
	}{
		{"GET", "/static/app.css", "true"},
		{"HEAD", "/static/app.css", "true"},
		{"GET", "/static/secret.txt", "false"},
		{"GET", "/auth/login", "true"},
		{"POST", "/auth/login", "false"},
		{"GET", "/api/catalog/entities/by-name/component/default/a", "false"},
	}
	for _, tt := range tests {
		rec := do(t, h, tt.method, tt.path, nil)
		if got := rec.Body.String(); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestMarkPublicWithoutPattern(t *testing.T) {
	pm := newPublicMatcher([]string{"GET /static/{name}"})
	var got []bool
	h := markPublic(pm)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, IsPublic(r.Context()))
	}))
	do(t, h, "GET", "/static/app.css", nil)
	do(t, h, "GET", "/api/catalog/entities", nil)
	if len(got) != 2 || !got[0] || got[1] {
		t.Errorf("got %v, want [true false]", got)
	}
}
