package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/suggest"
)

// Problem is one thing wrong with the configuration and where it is.
type Problem struct {
	File    string
	Line    int
	Key     string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a configuration; it is an error.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "invalid configuration:\n  " + strings.Join(s, "\n  ")
}

// decoder turns a node tree into typed values, collecting problems rather
// than stopping at the first.
type decoder struct {
	probs    Problems
	warnings []string
}

func (d *decoder) fail(n *node, path, format string, args ...any) {
	d.probs = append(d.probs, Problem{File: n.file, Line: n.line, Key: path, Message: fmt.Sprintf(format, args...)})
}

func describe(n *node) string {
	switch n.kind {
	case kindMap:
		return "an object"
	case kindSeq:
		return "a list"
	case kindNull:
		return "null"
	}
	return fmt.Sprintf("%q", n.text)
}

// fields decodes a map node: each present key goes to its handler; keys in
// ignored are accepted with a warning (Backstage keys Atrium does not use);
// any other key is an unknown-key problem.
func (d *decoder) fields(n *node, path string, handlers map[string]func(*node, string), ignored ...string) bool {
	if n.kind == kindNull {
		return false
	}
	if n.kind != kindMap {
		d.fail(n, path, "must be an object, got %s", describe(n))
		return false
	}
	for i, k := range n.keys {
		v := n.values[k]
		p := join(path, k)
		if h, ok := handlers[k]; ok {
			h(v, p)
			continue
		}
		if contains(ignored, k) {
			d.warnings = append(d.warnings, fmt.Sprintf("%s: %s: not used by Atrium; ignored", v.file, p))
			continue
		}
		msg := "unknown key"
		if s := closestKey(k, handlers); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.probs = append(d.probs, Problem{File: v.file, Line: n.keyPos[i], Key: p, Message: msg})
	}
	return true
}

func (d *decoder) str(n *node, path string, out *string) {
	switch n.kind {
	case kindNull:
		*out = ""
	case kindScalar:
		*out = n.text
	default:
		d.fail(n, path, "must be a string, got %s", describe(n))
	}
}

func (d *decoder) integer(n *node, path string, min, max int, out *int) {
	if n.kind != kindScalar {
		d.fail(n, path, "must be a whole number, got %s", describe(n))
		return
	}
	v, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(n.text, "_", "")), 10, 64)
	if err != nil {
		d.fail(n, path, "must be a whole number, got %q", n.text)
		return
	}
	if v < int64(min) || v > int64(max) {
		d.fail(n, path, "must be between %d and %d, got %d", min, max, v)
		return
	}
	*out = int(v)
}

func (d *decoder) boolean(n *node, path string, out *bool) {
	if n.kind == kindScalar {
		switch strings.ToLower(strings.TrimSpace(n.text)) {
		case "true":
			*out = true
			return
		case "false":
			*out = false
			return
		}
	}
	d.fail(n, path, "must be true or false, got %s", describe(n))
}

func (d *decoder) strings(n *node, path string, out *[]string) {
	if n.kind == kindNull {
		*out = []string{}
		return
	}
	if n.kind != kindSeq {
		d.fail(n, path, "must be a list of strings, got %s", describe(n))
		return
	}
	res := make([]string, 0, len(n.items))
	for i, c := range n.items {
		var s string
		d.str(c, fmt.Sprintf("%s[%d]", path, i), &s)
		res = append(res, s)
	}
	*out = res
}

func (d *decoder) list(n *node, path string, each func(*node, string)) {
	if n.kind == kindNull {
		return
	}
	if n.kind != kindSeq {
		d.fail(n, path, "must be a list, got %s", describe(n))
		return
	}
	for i, c := range n.items {
		each(c, fmt.Sprintf("%s[%d]", path, i))
	}
}

func (d *decoder) oneOf(n *node, path string, allowed []string, out *string) {
	var s string
	d.str(n, path, &s)
	if !contains(allowed, s) {
		d.fail(n, path, "must be one of %s, got %q", strings.Join(allowed, ", "), s)
		return
	}
	*out = s
}

// bytes reads a size: a whole number of bytes or a number with a unit
// (KB, MB, GB as powers of 1024; also KiB, MiB, GiB).
func (d *decoder) bytes(n *node, path string, out *int64) {
	if n.kind != kindScalar {
		d.fail(n, path, "must be a size such as 1048576 or \"1MiB\", got %s", describe(n))
		return
	}
	v, err := parseSize(n.text)
	if err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	*out = v
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	upper := strings.ToUpper(t)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(upper, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("must be a size such as 1048576 or \"1MiB\", got %q", s)
	}
	return v * mult, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// closestKey returns the known key closest to k when it is a likely typo.
func closestKey(k string, handlers map[string]func(*node, string)) string {
	best, bestD := "", 3
	for cand := range handlers {
		if dist := suggest.Distance(strings.ToLower(k), strings.ToLower(cand)); dist < bestD || (dist == bestD && cand < best && best != "") {
			best, bestD = cand, dist
		}
	}
	return best
}
