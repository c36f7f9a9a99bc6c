package logsink

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

type stringer struct{}

func (stringer) String() string { return "str" }

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

// TestJSONHandlerMatchesSlog logs the same records through NewJSONHandler
// and slog.NewJSONHandler and compares the lines byte for byte: records the
// fast path encodes and records it hands to slog.
func TestJSONHandlerMatchesSlog(t *testing.T) {
	when := time.Date(2026, 12, 7, 4, 50, 1, 123456789, time.FixedZone("X", 3600))
	tests := []struct {
		name  string
		msg   string
		attrs []slog.Attr
	}{
		{"access line", "http", []slog.Attr{
			slog.String("request_id", "0123456789abcdef01234567"), slog.String("method", "GET"),
			slog.String("path", "/api/catalog/entities/by-name/component/default/x"), slog.Int("status", 200),
			slog.Int64("bytes", 989), slog.Float64("ms", 0.052), slog.String("remote", "127.0.0.1:4242"),
		}},
		{"no attrs", "started", nil},
		{"escapes", "a \"quoted\"\n\tline\\ \x01\x1f <html> & é \u2028\u2029 \xff end", []slog.Attr{
			slog.String("k\"ey\n", "v\r\x00\x7f"), slog.String("utf8", "日本語"),
		}},
		{"numbers", "n", []slog.Attr{
			slog.Int("neg", -42), slog.Uint64("u", math.MaxUint64), slog.Bool("t", true), slog.Bool("f", false),
			slog.Duration("d", 1500*time.Millisecond),
			slog.Float64("zero", 0), slog.Float64("negzero", math.Copysign(0, -1)), slog.Float64("small", 1e-7),
			slog.Float64("tiny", 1.5e-300), slog.Float64("big", 1e21), slog.Float64("huge", 1.7e308),
			slog.Float64("int", 3), slog.Float64("third", 1.0/3), slog.Float64("neg", -0.000001),
		}},
		{"time attr", "t", []slog.Attr{slog.Time("at", when), slog.Time("zero", time.Time{})}},
		{"duplicate keys", "d", []slog.Attr{slog.String("a", "1"), slog.String("a", "2")}},
		{"empty attr", "e", []slog.Attr{{}, slog.String("after", "x")}},
		// The rest go the slow way.
		{"error", "e", []slog.Attr{slog.Any("err", errors.New("boom")), slog.Int("n", 1)}},
		{"group", "g", []slog.Attr{slog.Group("req", slog.String("m", "GET"), slog.Int("s", 200)), slog.String("x", "y")}},
		{"inline group", "g", []slog.Attr{slog.Group("", slog.String("m", "GET"))}},
		{"empty group", "g", []slog.Attr{slog.Group("none"), slog.String("x", "y")}},
		{"valuer", "v", []slog.Attr{slog.Any("v", valuer{})}},
		{"stringer", "s", []slog.Attr{slog.Any("s", stringer{})}},
		{"map", "m", []slog.Attr{slog.Any("m", map[string]int{"a": 1})}},
		{"nan", "f", []slog.Attr{slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(1))}},
		{"empty key", "k", []slog.Attr{slog.String("", "v")}},
		{"year out of range", "y", []slog.Attr{slog.Time("at", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))}},
	}
	levels := []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2}
	for _, tt := range tests {
		for i, lvl := range levels {
			tm := when
			if i == 1 {
				tm = time.Time{} // slog leaves out a zero time
			}
			r := slog.NewRecord(tm, lvl, tt.msg, 0)
			r.AddAttrs(tt.attrs...)
			var got, want bytes.Buffer
			if err := NewJSONHandler(&got, nil).Handle(context.Background(), r.Clone()); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			_ = slog.NewJSONHandler(&want, nil).Handle(context.Background(), r.Clone())
			if got.String() != want.String() {
				t.Errorf("%s, level %v:\ngot  %s\nwant %s", tt.name, lvl, got.String(), want.String())
			}
		}
	}
}

// TestJSONHandlerWithAttrsAndGroups checks the attributes and groups of
// derived handlers, on the fast and the slow path.
func TestJSONHandlerWithAttrsAndGroups(t *testing.T) {
	steps := []struct {
		name   string
		derive func(slog.Handler) slog.Handler
	}{
		{"attrs", func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("request_id", "abc"), slog.Int("n", 1)})
		}},
		{"attrs twice", func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("a", "1")}).WithAttrs([]slog.Attr{slog.String("b", "2")})
		}},
		{"no attrs", func(h slog.Handler) slog.Handler { return h.WithAttrs(nil) }},
		{"slow attr", func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Any("err", errors.New("x")), slog.String("c", "3")})
		}},
		{"group", func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("a", "1")}).WithGroup("g").WithAttrs([]slog.Attr{slog.String("b", "2")})
		}},
		{"empty group name", func(h slog.Handler) slog.Handler { return h.WithGroup("") }},
	}
	for _, st := range steps {
		var got, want bytes.Buffer
		hg := st.derive(NewJSONHandler(&got, nil))
		hw := st.derive(slog.NewJSONHandler(&want, nil))
		for _, l := range []*slog.Logger{slog.New(hg), slog.New(hw)} {
			r := slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), slog.LevelInfo, "m", 0)
			r.AddAttrs(slog.String("x", "y"), slog.Float64("ms", 0.25))
			_ = l.Handler().Handle(context.Background(), r)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\ngot  %s\nwant %s", st.name, got.String(), want.String())
		}
	}
}

func TestJSONHandlerEnabled(t *testing.T) {
	tests := []struct {
		opts *slog.HandlerOptions
		l    slog.Level
		want bool
	}{
		{nil, slog.LevelInfo, true},
		{nil, slog.LevelDebug, false},
		{&slog.HandlerOptions{Level: slog.LevelWarn}, slog.LevelInfo, false},
		{&slog.HandlerOptions{Level: slog.LevelWarn}, slog.LevelError, true},
	}
	for _, tt := range tests {
		h := NewJSONHandler(&bytes.Buffer{}, tt.opts)
		if got := h.Enabled(context.Background(), tt.l); got != tt.want {
			t.Errorf("level %v, options %+v: got %v, want %v", tt.l, tt.opts, got, tt.want)
		}
	}
}

// TestJSONHandlerOptionsFallBack checks that AddSource and ReplaceAttr,
// which the fast path does not implement, are honoured.
func TestJSONHandlerOptionsFallBack(t *testing.T) {
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "secret" {
			a.Value = slog.StringValue("***")
		}
		return a
	}}
	slog.New(NewJSONHandler(&buf, opts)).Info("m", "secret", "hunter2")
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), `"secret":"***"`) {
		t.Errorf("got %s, want the secret replaced", buf.String())
	}
}

// TestJSONHandlerConcurrent writes from many goroutines to a plain buffer
// (not safe for concurrent use) on both paths; run with -race. Every line
// must come out whole.
func TestJSONHandlerConcurrent(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewJSONHandler(&buf, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if i%2 == 0 {
					l.Info("fast", "g", g, "i", i)
				} else {
					l.Info("slow", "err", errors.New("x"), "i", i)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("got %d lines, want %d", len(lines), 8*200)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, `{"time":"`) || !strings.HasSuffix(line, "}") {
			t.Fatalf("got a broken line %q", line)
		}
	}
}
