package logsink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestWriterBatchesAndKeepsOrder(t *testing.T) {
	var out syncBuffer
	s := New(&out)
	var want strings.Builder
	for i := range 100 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		if n, err := s.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("got %d, %v", n, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("got %q, want %q", got, want.String())
	}
	out.mu.Lock()
	writes := out.writes
	out.mu.Unlock()
	if writes != 1 {
		t.Errorf("got %d writes, want 1", writes)
	}
}

func TestWriterFlushesByItself(t *testing.T) {
	var out syncBuffer
	s := New(&out)
	s.Write([]byte("alone\n"))
	deadline := time.Now().Add(time.Minute)
	for out.String() != "alone\n" {
		if time.Now().After(deadline) {
			t.Fatalf("got %q a minute later, want the line", out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterFullBufferAndClose(t *testing.T) {
	var out syncBuffer
	s := New(&out)
	s.max = 10
	s.Write([]byte("0123456789ab\n")) // longer than max: written on its own
	if got := out.String(); got != "0123456789ab\n" {
		t.Errorf("got %q, want the line written at once", got)
	}
	s.Write([]byte("tail\n"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("after\n"))
	if got, want := out.String(), "0123456789ab\ntail\nafter\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	syncBuffer
	entered chan struct{} // receives once per Write, before it blocks
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.syncBuffer.Write(p)
}

// TestWriterFullBufferOffTheCaller fills the buffer while the underlying
// writer blocks: the write of the full buffer happens on the flush
// goroutine, so the lines that filled it and the lines after return
// without waiting for it, up to the backlog.
func TestWriterFullBufferOffTheCaller(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}, 100), release: make(chan struct{})}
	s := New(out)
	s.max = 16
	s.maxBacklog = 64
	var want strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 8 { // 8 lines of 8 bytes: three full buffers queued, 48 bytes
			line := fmt.Sprintf("line %02d\n", i)
			want.WriteString(line)
			s.Write([]byte(line))
		}
	}()
	select {
	case <-out.entered: // the flush goroutine is writing, and blocked
	case <-time.After(time.Minute):
		t.Fatal("no write of the full buffer in a minute")
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Write waited for the blocked underlying writer")
	}
	close(out.release)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("got %q, want %q", got, want.String())
	}
}

// TestWriterBacklogBound checks that past the backlog Write writes the
// queued buffers itself (in order) instead of queueing more.
func TestWriterBacklogBound(t *testing.T) {
	var out syncBuffer
	s := New(&out)
	s.max = 16
	s.maxBacklog = 16
	s.timer.Stop()
	s.timer = time.AfterFunc(time.Hour, func() {}) // no flush goroutine
	var want strings.Builder
	for i := range 6 {
		line := fmt.Sprintf("line %02d\n", i)
		want.WriteString(line)
		s.Write([]byte(line))
	}
	// Lines 0-3 filled two buffers, queued when lines 2 and 4 came (32
	// bytes > 16): the Write of line 4 wrote them and the buffer it had
	// started, line 5 waits in the next.
	if got, want := out.String(), want.String()[:5*8]; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("after Close: got %q, want %q", got, want.String())
	}
}

func TestWriterConcurrent(t *testing.T) {
	var out syncBuffer
	s := New(&out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s.Write([]byte(fmt.Sprintf("g%d-%d\n", g, i)))
			}
		})
	}
	wg.Wait()
	s.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*200 {
		t.Errorf("got %d lines, want %d", len(lines), 8*200)
	}
}

// BenchmarkAccessLine logs an access-log-like line per iteration from
// GOMAXPROCS goroutines through slog's JSON handler or this package's
// (json=fast) into a file, directly and through a Writer, and reports the
// process's CPU per line.
//
//	go test ./internal/logsink -run XX -bench AccessLine -benchmem
func BenchmarkAccessLine(b *testing.B) {
	for _, c := range []struct{ sink, fast bool }{{false, false}, {true, false}, {true, true}} {
		sink := c.sink
		json := "slog"
		if c.fast {
			json = "fast"
		}
		b.Run(fmt.Sprintf("sink=%v/json=%s", sink, json), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var w io.Writer = f
			if sink {
				s := New(f)
				defer s.Close()
				w = s
			}
			l := slog.New(slog.NewJSONHandler(w, nil))
			if c.fast {
				l = slog.New(NewJSONHandler(w, nil))
			}
			b.ReportAllocs()
			cpu := processCPU(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.LogAttrs(context.Background(), slog.LevelInfo, "http", slog.String("request_id", "0123456789abcdef01234567"),
						slog.String("method", "GET"), slog.String("path", "/api/catalog/entities/by-name/component/default/svc-1"),
						slog.Int("status", 200), slog.Int64("bytes", 1043), slog.Float64("ms", 0.123), slog.String("remote", "127.0.0.1:50000"))
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((processCPU(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU returns the user and system CPU time of this process so far.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
