package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadConnReadsWholeAnswers(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		body := bytes.Repeat([]byte("x"), size)
		switch r.URL.Path {
		case "/chunked": // flushed in parts: a chunked body
			half := size / 2
			w.Write(body[:half])
			w.(http.Flusher).Flush()
			w.Write(body[half:])
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write(body)
		case "/missing":
			http.Error(w, "none", http.StatusNotFound)
		default:
			w.Write(body)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	lc, err := newLoadConn(srv.URL, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	tests := []struct {
		path     string
		wantCode int
		wantLen  int64
	}{
		{"/length?size=10", 200, 10},
		{"/chunked?size=100000", 200, 100000},
		{"/length?size=0", 200, 0},
		{"/chunked?size=5000", 200, 5000},
		{"/missing", 404, int64(len("none\n"))},
		{"/length?size=70000", 200, 70000},
	}
	for _, tt := range tests {
		code, n, err := lc.get(context.Background(), tt.path)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if code != tt.wantCode || n != tt.wantLen {
			t.Errorf("%s: got %d with %d bytes, want %d with %d", tt.path, code, n, tt.wantCode, tt.wantLen)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("connections: got %d, want 1 (keep-alive)", got)
	}
	if code, n, err := lc.get(context.Background(), "/close?size=3"); err != nil || code != 200 || n != 3 {
		t.Fatalf("/close: got %d, %d, %v", code, n, err)
	}
	if code, _, err := lc.get(context.Background(), "/length?size=1"); err != nil || code != 200 {
		t.Fatalf("after Connection: close: got %d, %v", code, err)
	}
	if got := conns.Load(); got != 2 {
		t.Errorf("connections after a close: got %d, want 2", got)
	}
}
