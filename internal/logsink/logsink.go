// Package logsink batches the process's log output into fewer writes.
//
// Every request writes an access log line, and slog's handlers write each
// record with one write(2) while holding their mutex: at 10,000 requests a
// second that was ~10 µs of server CPU per request (docs/benchmarks.md),
// and requests queued on the mutex behind one another's system calls. A
// Writer copies lines into a buffer and writes the buffer at most Delay
// later, or as soon as the next line would not fit in MaxBuffer bytes, so a
// busy server makes one system call for many lines and a quiet one still
// shows each line within Delay. The writes happen on the flush timer's
// goroutine, not on the goroutine of the line that filled the buffer, and
// without the lock that Write takes: a request logging its line never
// waits for a system call, unless MaxBacklog bytes are waiting to be
// written (a writer that cannot keep up) or its line is longer than
// MaxBuffer (written on its own, at once).
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
	// DefaultMaxBacklog bounds the full buffers waiting for the flush
	// goroutine; past it, Write writes them itself.
	DefaultMaxBacklog = 4 * DefaultMaxBuffer
)

// Writer buffers what is written to it for at most Delay. It is safe for
// concurrent use; lines keep their order. Close (or Flush) writes what is
// buffered; a Writer is not usable before New.
type Writer struct {
	w          io.Writer
	delay      time.Duration
	max        int
	maxBacklog int

	// wmu is held while writing to w, and taken before mu: whoever holds
	// it takes everything queued so far, so the writes keep the lines'
	// order.
	wmu sync.Mutex

	mu      sync.Mutex
	buf     []byte   // the buffer lines are appended to
	full    [][]byte // filled buffers waiting to be written, oldest first
	backlog int      // bytes in full
	spare   [][]byte // written buffers, for reuse (as many as the backlog holds)
	pending bool     // a flush is scheduled
	closed  bool     // writes go straight through
	timer   *time.Timer
}

// New returns a Writer writing to w with the default delay and buffer size.
func New(w io.Writer) *Writer {
	s := &Writer{w: w, delay: DefaultDelay, max: DefaultMaxBuffer, maxBacklog: DefaultMaxBacklog}
	s.timer = time.AfterFunc(time.Hour, func() { _ = s.Flush() })
	s.timer.Stop()
	return s
}

// Write buffers p. It never fails: a log line has nowhere else to go
// when the underlying writer does; Flush and Close return its error.
func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	if closed := s.closed; closed || len(p) >= s.max {
		// Straight through, after what is buffered.
		s.mu.Unlock()
		s.wmu.Lock()
		defer s.wmu.Unlock()
		_ = s.writeQueued()
		n, err := s.w.Write(p)
		if closed {
			return n, err
		}
		return len(p), nil
	}
	if len(s.buf)+len(p) > s.max {
		// The buffer is full: queue it for the flush goroutine, now.
		s.full = append(s.full, s.buf)
		s.backlog += len(s.buf)
		s.buf = nil
		s.pending = true
		s.timer.Reset(0)
	}
	if s.buf == nil {
		if n := len(s.spare); n > 0 {
			s.buf, s.spare = s.spare[n-1][:0], s.spare[:n-1]
		} else {
			s.buf = make([]byte, 0, s.max)
		}
	}
	s.buf = append(s.buf, p...)
	if !s.pending {
		s.pending = true
		s.timer.Reset(s.delay)
	}
	over := s.backlog > s.maxBacklog
	s.mu.Unlock()
	if over {
		// The underlying writer does not keep up: write here rather
		// than let the buffers grow.
		_ = s.Flush()
	}
	return len(p), nil
}

// Flush writes what is buffered now.
func (s *Writer) Flush() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeQueued()
}

// writeQueued writes the queued buffers and the current one, in order,
// with wmu held and mu not.
func (s *Writer) writeQueued() error {
	s.mu.Lock()
	if s.pending {
		s.timer.Stop()
		s.pending = false
	}
	out := s.full
	if len(s.buf) > 0 {
		out = append(out, s.buf)
		s.buf = nil
	}
	s.full, s.backlog = nil, 0
	s.mu.Unlock()
	var err error
	for _, b := range out {
		if _, werr := s.w.Write(b); werr != nil && err == nil {
			err = werr
		}
	}
	if len(out) > 0 {
		s.mu.Lock()
		for _, b := range out {
			if (len(s.spare)+1)*s.max <= s.maxBacklog+s.max {
				s.spare = append(s.spare, b[:0])
			}
		}
		s.mu.Unlock()
	}
	return err
}

// Close writes what is buffered; later writes go straight to the
// underlying writer. It does not close that writer.
func (s *Writer) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.writeQueued()
}
