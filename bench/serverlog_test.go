package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestHandlerTimesReadsAccessLinesBetweenOffsets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	before := `{"level":"INFO","msg":"http","path":"/warm-up","ms":99}` + "\n"
	during := `{"level":"INFO","msg":"http","path":"/a","ms":0.5}` + "\n" +
		`{"level":"INFO","msg":"memory limit","bytes":1}` + "\n" +
		`gc 7 @1.0s 1%: 0.1+2+0.1 ms clock` + "\n" +
		`{"level":"INFO","msg":"http","path":"/b","ms":2.25}` + "\n" +
		`{"level":"INFO","msg":"http","path":"/c","ms":0.125}` + "\n"
	after := `{"level":"INFO","msg":"http","path":"/later","ms":50}` + "\n"
	if err := os.WriteFile(path, []byte(before+during+after), 0o644); err != nil {
		t.Fatal(err)
	}
	from := int64(len(before))
	got, err := handlerTimes(path, from, from+int64(len(during)))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{125 * time.Microsecond, 500 * time.Microsecond, 2250 * time.Microsecond}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProcCtxSwitchesOfSelf(t *testing.T) {
	a, err := procCtxSwitches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		time.Sleep(time.Millisecond) // blocks: voluntary switches
	}
	b, err := procCtxSwitches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if b.Voluntary <= a.Voluntary || b.Involuntary < a.Involuntary {
		t.Errorf("got %+v after %+v, want more voluntary switches and no fewer involuntary ones", b, a)
	}
	if _, err := procCtxSwitches(-1); err == nil {
		t.Errorf("process -1: got no error, want one")
	}
}

func TestRunLoadReportsServerSideTimes(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A line from before the measurement, which must not count.
	fmt.Fprintln(f, `{"msg":"http","ms":99}`)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
		mu.Lock()
		fmt.Fprintln(f, `{"msg":"http","ms":0.25}`)
		mu.Unlock()
	}))
	defer srv.Close()

	st, err := runLoad(context.Background(), loadParams{
		Client: newClient(srv.URL, 2, 0), Clients: 2, Duration: 100 * time.Millisecond, Seed: 1,
		Endpoint:  endpoint{Name: "ok", Path: func(*rand.Rand) string { return "/ok" }},
		ServerPID: os.Getpid(), ServerLog: logPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests == 0 || st.ServerP50ms != 0.25 || st.ServerP99ms != 0.25 {
		t.Errorf("got %d requests, server p50 %v ms, p99 %v ms, want requests and 0.25 ms", st.Requests, st.ServerP50ms, st.ServerP99ms)
	}
	if st.ServerCtxPerReq == nil || st.ClientCtxPerReq == nil || st.LoadAvg == "" {
		t.Errorf("got server %v, client %v context switches, load %q, want all three", st.ServerCtxPerReq, st.ClientCtxPerReq, st.LoadAvg)
	}
}
