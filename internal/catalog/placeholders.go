package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The limits of placeholder substitution.
const (
	// MaxPlaceholderBytes is the largest content one placeholder may read.
	MaxPlaceholderBytes = 8 << 20
	// MaxPlaceholders is the most placeholders one document may hold.
	MaxPlaceholders = 100
)

// ResolveTarget resolves target, a path or URL written in a descriptor, against
// base, the location of that descriptor: an absolute http(s) URL stands
// alone; for a url: base a relative target is resolved as a URL; for a file:
// base it is a path relative to the descriptor's directory. Location
// entities' targets and placeholders resolve this way.
func ResolveTarget(base LocationRef, target string) (LocationRef, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return LocationRef{}, fmt.Errorf("target must not be empty")
	}
	if isAbsoluteURL(target) {
		if _, err := url.Parse(target); err != nil {
			return LocationRef{}, fmt.Errorf("target %q is not a valid URL: %w", target, err)
		}
		return LocationRef{Type: "url", Target: target}, nil
	}
	switch base.Type {
	case "url":
		b, err := url.Parse(base.Target)
		if err != nil || !b.IsAbs() {
			return LocationRef{}, fmt.Errorf("base location %q is not an absolute URL", base.String())
		}
		rel, err := url.Parse(target)
		if err != nil {
			return LocationRef{}, fmt.Errorf("target %q is not a valid URL path: %w", target, err)
		}
		return LocationRef{Type: "url", Target: b.ResolveReference(rel).String()}, nil
	case "file":
		if filepath.IsAbs(target) {
			return LocationRef{Type: "file", Target: filepath.Clean(target)}, nil
		}
		return LocationRef{Type: "file", Target: filepath.Join(filepath.Dir(base.Target), target)}, nil
	}
	return LocationRef{}, fmt.Errorf("cannot resolve %q relative to a location of type %q", target, base.Type)
}

func isAbsoluteURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// ResolvePlaceholders replaces, anywhere in doc.Raw, every object with the
// single key $text, $json or $yaml by what it points at (backstage.md §1.8):
// the content as a string, parsed JSON or parsed YAML. The placeholder's
// value is a path or URL resolved against base with ResolveTarget; read
// receives the resolved location as "type:target" (LocationRef.String) and
// returns its content. Objects with other $ keys or a non-string value are
// left alone, as Backstage does. Problems name the field and its line.
func ResolvePlaceholders(ctx context.Context, doc *Document, base LocationRef, read func(ctx context.Context, target string) ([]byte, error)) Problems {
	r := placeholderResolver{ctx: ctx, doc: doc, base: base, read: read}
	for _, k := range sortedKeys(doc.Raw) {
		if v, changed := r.walk(doc.Raw[k], k, 1); changed {
			doc.Raw[k] = v
		}
	}
	return r.problems
}

type placeholderResolver struct {
	ctx      context.Context
	doc      *Document
	base     LocationRef
	read     func(ctx context.Context, target string) ([]byte, error)
	count    int
	problems Problems
}

func (r *placeholderResolver) fail(field, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.doc.File, Line: r.doc.LineOf(field), Field: field, Message: fmt.Sprintf(format, args...)})
}

// walk returns the value with its placeholders replaced and whether it
// changed.
func (r *placeholderResolver) walk(x any, path string, depth int) (any, bool) {
	if depth > maxSearchDepth {
		return x, false
	}
	switch t := x.(type) {
	case map[string]any:
		if len(t) == 1 {
			for k, arg := range t {
				if s, ok := arg.(string); ok && (k == "$text" || k == "$json" || k == "$yaml") {
					v, ok := r.resolve(k, s, path)
					if !ok {
						return x, false
					}
					return v, true
				}
			}
		}
		for _, k := range sortedKeys(t) {
			if v, changed := r.walk(t[k], path+"."+k, depth+1); changed {
				t[k] = v
			}
		}
	case []any:
		for i, item := range t {
			if v, changed := r.walk(item, path+"."+strconv.Itoa(i), depth+1); changed {
				t[i] = v
			}
		}
	}
	return x, false
}

func (r *placeholderResolver) resolve(op, target, field string) (any, bool) {
	r.count++
	if r.count > MaxPlaceholders {
		if r.count == MaxPlaceholders+1 {
			r.fail(field, "document has more than %d placeholders", MaxPlaceholders)
		}
		return nil, false
	}
	if err := r.ctx.Err(); err != nil {
		r.fail(field, "placeholder %s not resolved: %v", op, err)
		return nil, false
	}
	loc, err := ResolveTarget(r.base, target)
	if err != nil {
		r.fail(field, "placeholder %s could not form a location out of %s and %q: %v", op, r.base.String(), target, err)
		return nil, false
	}
	data, err := r.read(r.ctx, loc.String())
	if err != nil {
		r.fail(field, "placeholder %s failed to read %s: %v", op, loc.String(), err)
		return nil, false
	}
	if len(data) > MaxPlaceholderBytes {
		r.fail(field, "placeholder %s read %d bytes from %s, more than the limit of %d", op, len(data), loc.String(), MaxPlaceholderBytes)
		return nil, false
	}
	switch op {
	case "$text":
		return string(data), true
	case "$json":
		v, err := parseJSONValue(data)
		if err != nil {
			r.fail(field, "placeholder $json failed to parse JSON from %s: %v", loc.String(), err)
			return nil, false
		}
		return v, true
	default:
		v, err := parseYAMLValue(loc.String(), data)
		if err != nil {
			r.fail(field, "placeholder $yaml failed to parse YAML from %s: %v", loc.String(), err)
			return nil, false
		}
		return v, true
	}
}

// placeholderLimits bound the content a $json or $yaml placeholder parses,
// API definitions being larger than descriptors.
var placeholderLimits = Limits{
	MaxDocumentBytes: MaxPlaceholderBytes,
	MaxDocuments:     1,
	MaxDepth:         128,
	MaxNodes:         1000000,
}

// parseJSONValue parses any JSON value into plain values, with the
// placeholder limits.
func parseJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	r := jsonReader{dec: dec, lim: placeholderLimits}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid JSON: unexpected data after the value")
	}
	return v, nil
}

// parseYAMLValue parses a single YAML document of any shape with the
// placeholder limits.
func parseYAMLValue(name string, data []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("content could not be parsed as YAML: %v", r)
		}
	}()
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("content is not valid UTF-8")
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		p := yamlProblem(name, err)
		return nil, Problems{p}
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(next.Content) > 0 && next.Content[0].ShortTag() != "!!null" {
			return nil, fmt.Errorf("expected one YAML document")
		}
	}
	c := converter{file: name, lim: placeholderLimits}
	v, ok := c.value(&root, 0)
	if !ok || len(c.problems) > 0 {
		return nil, c.problems
	}
	return v, nil
}
