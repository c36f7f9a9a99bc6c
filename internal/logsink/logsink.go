// Package logsink batches the process's log output into fewer writes.
//
// Every request writes an access log line, and slog's handlers write each
// record with one write(2) while holding their mutex: at 10,000 requests a
// second that was ~10 µs of server CPU per request (docs/benchmarks.md),
// and requests queued on the mutex behind one another's system calls. A
// Writer copies lines into a buffer and writes the buffer at most Delay
// later, or at once when the next line would not fit in MaxBuffer bytes
// (a longer line is written on its own), so a busy server makes
// one system call for many lines and a quiet one still shows each line
// within Delay.
package logsink

import (
	"io"
	"sync"
	"time"
)

// Defaults of a Writer.
const (
	DefaultDelay     = 10 * time.Millisecond
	DefaultMaxBuffer = 64 << 10
)

// Writer buffers what is written to it for at most Delay. It is safe for
// concurrent use; lines keep their order. Close (or Flush) writes what is
// buffered; a Writer is not usable before New.
type Writer struct {
	w     io.Writer
	delay time.Duration
	max   int

	mu      sync.Mutex
	buf     []byte
	pending bool // a flush is scheduled
	closed  bool // writes go straight through
	timer   *time.Timer
}

// New returns a Writer writing to w with the default delay and buffer size.
func New(w io.Writer) *Writer {
	s := &Writer{w: w, delay: DefaultDelay, max: DefaultMaxBuffer}
	s.timer = time.AfterFunc(time.Hour, func() { _ = s.Flush() })
	s.timer.Stop()
	return s
}

// Write buffers p. It never fails: a log line has nowhere else to go
// when the underlying writer does; Flush and Close return its error.
func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.w.Write(p)
	}
	if len(s.buf)+len(p) > s.max {
		_ = s.flushLocked()
	}
	if len(p) >= s.max {
		_, _ = s.w.Write(p)
		return len(p), nil
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, s.max)
	}
	s.buf = append(s.buf, p...)
	if !s.pending {
		s.pending = true
		s.timer.Reset(s.delay)
	}
	return len(p), nil
}

// Flush writes what is buffered now.
func (s *Writer) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *Writer) flushLocked() error {
	if s.pending {
		s.timer.Stop()
		s.pending = false
	}
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

// Close writes what is buffered; later writes go straight to the
// underlying writer. It does not close that writer.
func (s *Writer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.flushLocked()
}
