package tmpl

import (
	"context"
	"testing"
	"time"
)

// FuzzRender feeds arbitrary templates to the sandbox: rendering must end
// within its limits, without panicking, and never return more than
// MaxBytes.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"${{ values.name }}", "{% for x in values.list %}${{ x }}{% endfor %}", "${{ 'a' * 3 }}",
		"{% macro m(a) %}${{ a }}{% endmacro %}${{ m(1) }}", "${{ values.repo | parseRepoUrl | pick('host') }}",
		"{% set ns = namespace(s='x') %}{% for i in range(9) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"${{ [1,2] + [3] }}", "{% raw %}${{ x }}{% endraw %}", "${{ values.name ~ }", "{% if %}", "${{ (((",
	} {
		f.Add(seed)
	}
	e := New(Limits{MaxBytes: 1 << 14, Timeout: 500 * time.Millisecond, MaxIterations: 500})
	data := map[string]any{"values": map[string]any{"name": "svc", "list": []any{"a", 1.5, true}, "repo": "h?owner=o&repo=r"}}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		type result struct {
			out string
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := e.Render(context.Background(), src, data, Options{})
			done <- result{out, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("render of %q does not end", src)
		}
		out, err := r.out, r.err
		if err == nil && len(out) > 1<<14 {
			t.Fatalf("output of %d bytes exceeds the limit", len(out))
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("render took %s", d)
		}
		evalDone := make(chan struct{})
		go func() {
			_, _ = e.Eval(context.Background(), src, data)
			close(evalDone)
		}()
		select {
		case <-evalDone:
		case <-time.After(5 * time.Second):
			t.Fatalf("evaluation of %q does not end", src)
		}
	})
}
