package tmpl

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRenderValue(t *testing.T) {
	e := New(Limits{})
	data := map[string]any{
		"parameters": map[string]any{
			"name": "payments", "owner": "group:default/team-a", "withDocs": false, "count": float64(3),
			"tags":    []any{"go", "grpc"},
			"repoUrl": "gitlab.example.com?owner=grp%2Fsub&repo=svc",
		},
		"steps": map[string]any{"fetch-base": map[string]any{"output": map[string]any{"path": "out"}}},
	}
	tests := []struct {
		in   any
		want any
	}{
		{"plain", "plain"},
		{"${{ parameters.name }}", "payments"},
		{"  ${{ parameters.withDocs }}  ", false},
		{"${{ parameters.tags }}", []any{"go", "grpc"}},
		{"${{ parameters.count }}", 3},
		{"${{ parameters.count / 2 }}", 1.5},
		{"name: ${{ parameters.name }}!", "name: payments!"},
		{"${{ parameters.name | upper }}-${{ parameters.count }}", "PAYMENTS-3"},
		{"${{ steps['fetch-base'].output.path }}", "out"},
		{"${{ parameters.repoUrl | parseRepoUrl }}", map[string]any{"host": "gitlab.example.com", "owner": "grp/sub", "repo": "svc"}},
		{"${{ parameters.repoUrl | projectSlug }}", "grp/sub/svc"},
		{"${{ parameters.owner | parseEntityRef }}", map[string]any{"kind": "group", "namespace": "default", "name": "team-a"}},
		{"${{ 'jane' | parseEntityRef({ 'defaultKind': 'user' }) | pick('kind') }}", "user"},
		{"${{ parameters.missing }}", nil},
		{"${{ parameters.tags | join(',') }}", "go,grpc"},
		{"${{ parameters.tags | dump }}", `["go","grpc"]`},
		{map[string]any{"a": []any{"${{ parameters.name }}", 1}}, map[string]any{"a": []any{"payments", 1}}},
		{"${{ parameters.name ~ '-svc' }}", "payments-svc"},
		{"${{ 'ab' * 2 }}", "abab"},
		{"${{ 2 * 3 + 1 }}", 7},
		{"${{ [1] + [2] }}", []any{1, 2}},
		{"is ${{ parameters.withDocs }}", "is false"},
	}
	for _, tt := range tests {
		got, err := e.RenderValue(context.Background(), tt.in, data)
		if err != nil {
			t.Errorf("RenderValue(%v): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RenderValue(%v): got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestRenderFile(t *testing.T) {
	e := New(Limits{})
	src := "# ${{ values.name }}\n{% for t in values.tags %}- ${{ t }}\n{% endfor %}{% if values.docs %}docs{% endif %}\nGo: func(w *http.Request) {{ notTemplated }}\n"
	got, err := e.Render(context.Background(), src, map[string]any{"values": map[string]any{"name": "svc", "tags": []any{"a", "b"}, "docs": true}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "# svc\n- a\n- b\ndocs\nGo: func(w *http.Request) {{ notTemplated }}\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got, err = e.Render(context.Background(), "{{ cookiecutter.name }}", map[string]any{"cookiecutter": map[string]any{"name": "svc"}}, Options{Cookiecutter: true})
	if err != nil || got != "svc" {
		t.Errorf("cookiecutter: got %q, %v, want svc", got, err)
	}
}

// TestSandbox checks that hostile templates fail with a limit error,
// quickly, instead of exhausting memory, stack or time.
func TestSandbox(t *testing.T) {
	e := New(Limits{MaxBytes: 1 << 16, Timeout: time.Second, MaxIterations: 1000})
	tests := []struct {
		name, src, wantErr string
	}{
		{"include", `{% include "/etc/passwd" %}`, "syntax"},
		{"import", `{% import "x" as y %}`, "syntax"},
		{"extends", `{% extends "/etc/passwd" %}`, "syntax"},
		{"repeat", `${{ "x" * 1000000000000 }}`, "limit"},
		{"concat doubling", `{% set ns = namespace(s="xxxxxxxx") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}${{ ns.s | length }}`, "limit"},
		{"plus doubling", `{% set ns = namespace(s="xxxxxxxx") %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`, "limit"},
		{"list doubling", `{% set ns = namespace(l=[1,2,3,4]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}`, "limit"},
		{"big range", `{% for i in range(100000000) %}{% endfor %}`, "limit"},
		{"nested loops", `{% for a in range(999) %}{% for b in range(999) %}{% endfor %}{% endfor %}`, "limit"},
		{"recursion", `{% macro f(n) %}${{ f(n) }}{% endmacro %}${{ f(1) }}`, "limit"},
		{"center", `${{ "x" | center(1000000000) }}`, "limit"},
		{"ljust method", `${{ "x".ljust(1000000000) }}`, ""},
		{"replace empty", `{% set ns = namespace(s="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") %}{% for i in range(10) %}{% set ns.s = ns.s | replace("", ns.s) %}{% endfor %}`, "limit"},
		{"output", `{% for i in range(900) %}${{ "0123456789" * 100 }}{% endfor %}`, "limit"},
		{"lipsum", `${{ lipsum(100000) }}`, ""},
		{"env", `${{ env }}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := e.Render(context.Background(), tt.src, nil, Options{})
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			if tt.wantErr == "" {
				if len(got) > 100 {
					t.Errorf("got %d bytes of output", len(got))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got output %.50q, error %v, want an error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestTruthy(t *testing.T) {
	tests := []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {"", false}, {0, false}, {float64(0), false}, {[]any{}, false},
		{true, true}, {"false", true}, {1, true}, {[]any{1}, true}, {map[string]any{}, true},
	}
	for _, tt := range tests {
		if got := Truthy(tt.v); got != tt.want {
			t.Errorf("Truthy(%#v): got %v, want %v", tt.v, got, tt.want)
		}
	}
}
