package logsink

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// NewJSONHandler returns a slog handler that writes the same lines as
// slog.NewJSONHandler(w, opts), with less work for the common record.
//
// Every request writes an access log line of seven string and number
// attributes; slog's JSON handler encodes its float through
// encoding/json (a boxed value and the reflect encoder) and walks the
// record through its general machinery, ~2 µs of a by-name request's
// ~30 (docs/benchmarks.md). This handler appends records whose
// attributes are strings, integers, booleans, durations, times and
// finite floats straight into a pooled buffer, byte for byte as slog
// would (TestJSONHandlerMatchesSlog), and hands every other record
// (groups, LogValuers, errors, any other value, non-finite floats, empty
// keys) to a slog.JSONHandler on the same writer. With AddSource or
// ReplaceAttr set it is slog's handler.
//
// Each record is one Write to w. When w is not a *Writer (which is safe
// for concurrent use), the writes are serialised by a mutex.
func NewJSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	if opts.AddSource || opts.ReplaceAttr != nil {
		return slog.NewJSONHandler(w, opts)
	}
	if _, ok := w.(*Writer); !ok {
		w = &lockedWriter{w: w}
	}
	return &jsonHandler{
		w:     w,
		level: opts.Level,
		std:   slog.NewJSONHandler(w, opts),
	}
}

type jsonHandler struct {
	w     io.Writer
	level slog.Leveler // nil: slog.LevelInfo
	// std writes the records this handler does not encode itself; it
	// has the same attributes and groups.
	std slog.Handler
	// pre holds the attributes added by WithAttrs, encoded, each
	// preceded by a comma.
	pre []byte
	// slow sends every record to std: a group was opened or an
	// attribute added that the fast path does not encode.
	slow bool
}

var _ slog.Handler = (*jsonHandler)(nil)

func (h *jsonHandler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.level != nil {
		min = h.level.Level()
	}
	return l >= min
}

func (h *jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.std = h.std.WithAttrs(attrs)
	if !h.slow {
		pre := append([]byte(nil), h.pre...)
		for _, a := range attrs {
			var ok bool
			if pre, ok = appendAttr(pre, a); !ok {
				h2.slow = true
				break
			}
		}
		h2.pre = pre
	}
	return &h2
}

func (h *jsonHandler) WithGroup(name string) slog.Handler {
	// slog's handler opens a group named "" too (slog.Logger.WithGroup
	// is the one that ignores it).
	h2 := *h
	h2.std = h.std.WithGroup(name)
	h2.slow = true
	return &h2
}

// bufPool holds the line buffers; buffers that grew past maxPooled are
// dropped rather than kept.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooled = 16 << 10

func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.slow {
		return h.std.Handle(ctx, r)
	}
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooled {
			bufPool.Put(bp)
		}
	}()
	b := append((*bp)[:0], '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return h.std.Handle(ctx, r)
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, r.Message)
	b = append(b, h.pre...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	if !ok {
		*bp = b
		return h.std.Handle(ctx, r)
	}
	b = append(b, '}', '\n')
	*bp = b
	_, err := h.w.Write(b)
	return err
}

// appendAttr appends ,"key":value for an attribute the fast path
// encodes, and reports false for any other (b is then to be dropped).
// An empty attribute (no key, no value) appends nothing, as in slog.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	v := a.Value
	if a.Key == "" {
		// slog elides an empty attribute and inlines a group without a
		// key; anything else without a key goes the slow way.
		return b, v.Kind() == slog.KindAny && v.Any() == nil
	}
	b = append(b, ',')
	b = appendString(b, a.Key)
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindFloat64:
		return appendFloat(b, v.Float64())
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	default:
		return b, false
	}
	return b, true
}

// appendFloat appends f as encoding/json writes a float64 (which slog's
// JSON handler uses); NaN and infinities, which it refuses, are left to
// the slow path.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Like encoding/json: e-09 becomes e-9.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a quoted JSON string, escaped as slog's JSON
// handler escapes it (encoding/json's rules without HTML escaping).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// lockedWriter serialises writes to a writer that may not be safe for
// concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
