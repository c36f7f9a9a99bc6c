package tmpl

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Engine renders templates within Limits. It is safe for concurrent use.
type Engine struct {
	limits Limits
	env    *exec.Environment
}

// New returns an Engine with the given limits (zero fields: defaults).
func New(l Limits) *Engine {
	globals := exec.NewContext(map[string]any{"range": rangeFunction})
	for _, name := range []string{"cycler", "dict", "joiner", "namespace"} {
		if v, ok := builtins.GlobalFunctions.Get(name); ok {
			globals.Set(name, v)
		}
	}
	return &Engine{
		limits: l.withDefaults(),
		env: &exec.Environment{
			Context:           globals,
			Filters:           sandboxFilters(),
			Tests:             builtins.Tests,
			ControlStructures: sandboxControlStructures(),
			Methods:           sandboxMethods(),
		},
	}
}

// Limits returns the engine's limits with defaults filled in.
func (e *Engine) Limits() Limits { return e.limits }

// Options change how a file is rendered (fetch:template's inputs).
type Options struct {
	// Cookiecutter uses {{ }} for expressions instead of ${{ }}.
	Cookiecutter bool
	TrimBlocks   bool
	LStripBlocks bool
}

func (o Options) config() *config.Config {
	c := config.New()
	if !o.Cookiecutter {
		c.VariableStartString = "${{"
		c.VariableEndString = "}}"
	}
	c.TrimBlocks = o.TrimBlocks
	c.LeftStripBlocks = o.LStripBlocks
	c.KeepTrailingNewline = true
	return c
}

// emptyLoader reads nothing: templates cannot include other files.
type emptyLoader struct{ root string }

func (l emptyLoader) Read(path string) (io.Reader, error) {
	if path == rootName {
		return strings.NewReader(l.root), nil
	}
	return nil, fmt.Errorf("templates cannot read other files (%q)", path)
}
func (l emptyLoader) Resolve(path string) (string, error) {
	if path == rootName {
		return path, nil
	}
	return "", fmt.Errorf("templates cannot read other files (%q)", path)
}
func (l emptyLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

const rootName = "template"

// Render renders src with data and returns the text.
func (e *Engine) Render(ctx context.Context, src string, data map[string]any, opt Options) (string, error) {
	if len(src) > e.limits.MaxBytes {
		return "", fault.New(fault.Invalid, "template limit: a template of %d bytes exceeds %d bytes", len(src), e.limits.MaxBytes)
	}
	b := newBudget(ctx, e.limits)
	out := &limitWriter{max: e.limits.MaxBytes}
	if err := e.run(src, data, opt, b, out); err != nil {
		return "", err
	}
	return out.String(), nil
}

func (e *Engine) run(src string, data map[string]any, opt Options, b *budget, out *limitWriter) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fault.New(fault.Invalid, "template error: %v", r)
		}
	}()
	t, err := exec.NewTemplate(rootName, opt.config(), emptyLoader{root: src}, e.env)
	if err != nil {
		return fault.New(fault.Invalid, "template syntax: %s", cleanErr(err))
	}
	meter(t.Root())
	vars := exec.NewContext(map[string]any{budgetKey: b})
	for k, v := range data {
		vars.Set(k, normalize(v))
	}
	if err := t.Execute(out, vars); err != nil {
		if b.err != nil {
			return b.err
		}
		return fault.New(fault.Invalid, "template error: %s", cleanErr(err))
	}
	return b.check()
}

// cleanErr shortens gonja's wrapped errors to their most useful parts.
func cleanErr(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "unable to execute template: ", "")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// singleExpr matches a string that is exactly one ${{ }} expression.
var singleExpr = regexp.MustCompile(`^\s*\$\{\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}\}\s*$`)

// Eval evaluates one expression (without delimiters) and returns its
// native value: a map, list, string, number, bool or nil.
func (e *Engine) Eval(ctx context.Context, expr string, data map[string]any) (any, error) {
	b := newBudget(ctx, e.limits)
	out := &limitWriter{max: e.limits.MaxBytes}
	if strings.Contains(expr, "}}") {
		return nil, fault.New(fault.Invalid, "template syntax: unexpected }} in expression %q", expr)
	}
	src := "${{ (" + expr + ") | " + filterCapture + " }}"
	if err := e.run(src, data, Options{}, b, out); err != nil {
		return nil, err
	}
	return b.captured, nil
}

// RenderValue templates every string in v (maps and lists recursively). A
// string that is exactly one ${{ }} expression becomes the expression's
// native value (a bool stays a bool, a list a list); any other string is
// rendered as text.
func (e *Engine) RenderValue(ctx context.Context, v any, data map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		if m := singleExpr.FindStringSubmatch(x); m != nil {
			return e.Eval(ctx, m[1], data)
		}
		if !strings.Contains(x, "${{") && !strings.Contains(x, "{%") {
			return x, nil
		}
		return e.Render(ctx, x, data, Options{})
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			r, err := e.RenderValue(ctx, val, data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			r, err := e.RenderValue(ctx, val, data)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// Truthy reports whether a rendered value counts as true for a step's if:
// as in Backstage, false, nil, "", 0 and empty lists are false.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	}
	return true
}

// normalize turns whole float64 numbers (how JSON numbers decode) into
// ints, so that 3 renders as "3" the way Nunjucks prints it, not "3.0".
func normalize(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		return out
	}
	return v
}
