package app_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// BenchmarkHTTPPath measures what the server spends on a by-name request
// besides the catalog: every entity is in the entity cache and stays there
// (atrium.cache.maxAge of an hour), so the lookup is a map hit and the
// rest is the HTTP path, from accept to the answer written. "in-process"
// serves httptest requests one at a time through the real handler (mux
// and middleware); "loopback" sends keep-alive requests over TCP to the
// real http.Server from GOMAXPROCS connections with a client that only
// writes fixed request bytes and skips the answers, so that the process's
// CPU per request (cpu-µs/op) is nearly all the server's, connection
// handling and response writing included. allocs/op counts both sides.
//
//	go test ./internal/app -run XX -bench HTTPPath -benchtime 20000x -benchmem
func BenchmarkHTTPPath(b *testing.B) {
	const n = 3000
	file := writeBenchCatalog(b, n)
	srv := apptest.StartServer(b, fmt.Sprintf("catalog:\n  locations:\n    - { type: file, target: %q }\n"+
		"atrium:\n  cache: { entities: 64MiB, maxAge: 1h }\n  rateLimit: { enabled: false }\n", file))
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%d", i)
	}

	b.Run("in-process", func(b *testing.B) {
		h := srv.App.Handler()
		serve := func(i int) {
			req := httptest.NewRequest("GET", paths[i%n], nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: got %d", paths[i%n], rec.Code)
			}
		}
		measureServe(b, n, serve)
	})

	b.Run("loopback", func(b *testing.B) {
		addr := strings.TrimPrefix(srv.BaseURL, "http://")
		reqs := make([][]byte, n)
		for i, p := range paths {
			reqs[i] = []byte("GET " + p + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: bench\r\n\r\n")
		}
		// Every request once, on one connection, so that the cache is warm.
		c := dialRaw(b, addr)
		for i := range reqs {
			if err := c.do(reqs[i]); err != nil {
				b.Fatal(err)
			}
		}
		c.conn.Close()
		var next atomic.Int64
		b.ReportAllocs()
		cpu := processCPU(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := dialRaw(b, addr)
			defer c.conn.Close()
			for pb.Next() {
				if err := c.do(reqs[int(next.Add(7919))%n]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	})
}

// rawClient sends HTTP/1.1 requests on one keep-alive connection and reads
// the answers with as little work as possible.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialRaw(tb testing.TB, addr string) *rawClient {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	return &rawClient{conn: conn, br: bufio.NewReaderSize(conn, 16<<10)}
}

// do writes req and reads its answer, which must be a 200 with a
// Content-Length.
func (c *rawClient) do(req []byte) error {
	if _, err := c.conn.Write(req); err != nil {
		return err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("got %q", line)
	}
	length := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("answer without Content-Length")
	}
	_, err = c.br.Discard(length)
	return err
}
