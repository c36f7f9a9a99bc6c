package tmpl

import (
	"context"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Limits bound one render. Zero fields take the defaults.
type Limits struct {
	// MaxBytes bounds any one value a render produces and the rendered
	// output (default 1 MiB).
	MaxBytes int
	// MaxTotalBytes bounds everything a render produces, summed (default
	// 16 × MaxBytes).
	MaxTotalBytes int
	// Timeout bounds the time of one render (default 2s).
	Timeout time.Duration
	// MaxIterations bounds the loop iterations of one render, over all
	// loops (default 10,000).
	MaxIterations int
	// MaxDepth bounds nested macro calls (default 32).
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 16 * l.MaxBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = 2 * time.Second
	}
	if l.MaxIterations <= 0 {
		l.MaxIterations = 10_000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	return l
}

// maxIntArg bounds integer arguments of filters (widths, lengths, counts).
const maxIntArg = 100_000

// budget is what one render may still spend. It lives in the render's
// context under budgetKey, a name no template expression can spell.
type budget struct {
	ctx       context.Context
	limits    Limits
	deadline  time.Time
	bytesLeft int
	iterLeft  int
	depth     int
	// captured receives the value of a single-expression evaluation.
	captured any
	// err is the first limit hit; later checks keep failing with it.
	err error
}

const budgetKey = "atrium budget"

func newBudget(ctx context.Context, l Limits) *budget {
	return &budget{ctx: ctx, limits: l, deadline: time.Now().Add(l.Timeout), bytesLeft: l.MaxTotalBytes, iterLeft: l.MaxIterations}
}

func (b *budget) fail(format string, args ...any) error {
	if b.err == nil {
		b.err = fault.New(fault.Invalid, "template limit: "+format, args...)
	}
	return b.err
}

// check fails once the render is past its deadline or its context ended.
func (b *budget) check() error {
	if b.err != nil {
		return b.err
	}
	if err := b.ctx.Err(); err != nil {
		return b.fail("rendering stopped: %v", err)
	}
	if time.Now().After(b.deadline) {
		return b.fail("rendering took longer than %s", b.limits.Timeout)
	}
	return nil
}

// charge accounts for n bytes produced.
func (b *budget) charge(n int) error {
	if err := b.check(); err != nil {
		return err
	}
	if n > b.limits.MaxBytes {
		return b.fail("a value of %d bytes exceeds the limit of %d bytes", n, b.limits.MaxBytes)
	}
	b.bytesLeft -= n
	if b.bytesLeft < 0 {
		return b.fail("the template produced more than %d bytes in total", b.limits.MaxTotalBytes)
	}
	return nil
}

// iterate accounts for n loop iterations.
func (b *budget) iterate(n int) error {
	if err := b.check(); err != nil {
		return err
	}
	b.iterLeft -= n
	if b.iterLeft < 0 {
		return b.fail("more than %d loop iterations", b.limits.MaxIterations)
	}
	return nil
}

// limitWriter is the render's output; it fails past MaxBytes.
type limitWriter struct {
	buf []byte
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, fault.New(fault.Invalid, "template limit: the output exceeds %d bytes", w.max)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *limitWriter) WriteString(s string) (int, error) {
	if len(w.buf)+len(s) > w.max {
		return 0, fault.New(fault.Invalid, "template limit: the output exceeds %d bytes", w.max)
	}
	w.buf = append(w.buf, s...)
	return len(s), nil
}

func (w *limitWriter) String() string { return string(w.buf) }
