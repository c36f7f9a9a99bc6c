package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits bound what a descriptor may cost to parse. A zero field means its
// default (see DefaultLimits).
type Limits struct {
	// MaxDocumentBytes is the largest descriptor file accepted, in bytes.
	MaxDocumentBytes int
	// MaxDocuments is the largest number of YAML documents in one file.
	MaxDocuments int
	// MaxDepth is the deepest nesting of mappings and sequences.
	MaxDepth int
	// MaxNodes is the largest number of values one document may expand to,
	// counting every alias expansion. It stops alias bombs.
	MaxNodes int
}

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits {
	return Limits{
		MaxDocumentBytes: 1 << 20,
		MaxDocuments:     10000,
		MaxDepth:         64,
		MaxNodes:         100000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDocumentBytes <= 0 {
		l.MaxDocumentBytes = d.MaxDocumentBytes
	}
	if l.MaxDocuments <= 0 {
		l.MaxDocuments = d.MaxDocuments
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	return l
}

// aliasRatio is how many times the values written in a document its aliases
// may expand to, once expansions pass aliasRatioFloor values.
const (
	aliasRatio      = 10
	aliasRatioFloor = 10000
)

// Document is one descriptor document: its plain JSON-compatible content
// (maps with string keys, slices, strings, float64, int, bool, nil) and
// where it came from.
type Document struct {
	File string
	Line int
	Raw  map[string]any
	// root is the YAML mapping Raw was made from; nil for JSON input.
	root *yaml.Node
}

// LineOf returns the line of the field at fieldPath, a dot path such as
// "spec.owner" or "metadata.tags.2". Keys that contain dots
// ("metadata.annotations.backstage.io/orphan") are found too. When the field
// is missing it returns the line of its deepest present parent, and d.Line
// when nothing is known.
func (d Document) LineOf(fieldPath string) int {
	if d.root == nil {
		return d.Line
	}
	line := lineOf(d.root, fieldPath, 0)
	if line == 0 {
		return d.Line
	}
	return line
}

// lineOf returns the line of path below n, the line of the deepest key
// present on the way when the path goes on past it, and 0 when not even the
// first segment is under n.
func lineOf(n *yaml.Node, path string, hops int) int {
	for n.Kind == yaml.AliasNode && n.Alias != nil && hops < 64 {
		n = n.Alias
		hops++
	}
	if path == "" {
		return n.Line
	}
	switch n.Kind {
	case yaml.MappingNode:
		best := -1
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if (path == k || strings.HasPrefix(path, k+".")) && (best < 0 || len(k) > len(n.Content[best].Value)) {
				best = i
			}
		}
		if best < 0 {
			return 0
		}
		key := n.Content[best]
		if len(path) == len(key.Value) {
			return key.Line
		}
		if l := lineOf(n.Content[best+1], path[len(key.Value)+1:], hops+1); l > 0 {
			return l
		}
		return key.Line
	case yaml.SequenceNode:
		seg, rest, _ := strings.Cut(path, ".")
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= len(n.Content) {
			return 0
		}
		if l := lineOf(n.Content[i], rest, hops+1); l > 0 {
			return l
		}
		return n.Content[i].Line
	}
	return 0
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ParseDescriptors parses a descriptor file of one or more YAML documents
// separated by "---". Empty documents are skipped. It returns the documents
// that parsed and, when any did not, an error of type Problems naming the
// file and line of each problem; a YAML syntax error ends the file there.
func ParseDescriptors(file string, data []byte, lim Limits) (docs []Document, err error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxDocumentBytes {
		return nil, Problems{{File: file, Message: fmt.Sprintf("descriptor is %d bytes, more than the limit of %d bytes", len(data), lim.MaxDocumentBytes)}}
	}
	if !utf8.Valid(data) {
		line, col := invalidUTF8At(data)
		return nil, Problems{{File: file, Line: line, Message: fmt.Sprintf("descriptor is not valid UTF-8 (invalid byte at column %d)", col)}}
	}
	var problems Problems
	defer func() {
		// The YAML parser must never take the process down on hostile input.
		if r := recover(); r != nil {
			problems = append(problems, Problem{File: file, Message: fmt.Sprintf("descriptor could not be parsed as YAML: %v", r)})
			err = problems
		}
	}()
	// Most descriptors are plain block YAML that the fast parser reads; the
	// rest, including every file with an error, goes through yaml.v3.
	next := func() (*yaml.Node, error) { return nil, io.EOF }
	if roots, ok := fastYAML(data); ok {
		next = func() (*yaml.Node, error) {
			if len(roots) == 0 {
				return nil, io.EOF
			}
			r := roots[0]
			roots = roots[1:]
			return r, nil
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		next = func() (*yaml.Node, error) {
			var n yaml.Node
			err := dec.Decode(&n)
			return &n, err
		}
	}
	for index := 0; ; {
		root, derr := next()
		if errors.Is(derr, io.EOF) {
			break
		}
		if derr != nil {
			problems = append(problems, yamlProblem(file, derr))
			break
		}
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
			continue
		}
		index++
		if index > lim.MaxDocuments {
			problems = append(problems, Problem{File: file, Line: root.Line, Message: fmt.Sprintf("descriptor has more than %d documents", lim.MaxDocuments)})
			break
		}
		target := root
		for target.Kind == yaml.AliasNode && target.Alias != nil {
			target = target.Alias
		}
		if target.Kind != yaml.MappingNode {
			problems = append(problems, Problem{File: file, Line: root.Line, Message: fmt.Sprintf("document %d is %s, expected a mapping (an object with apiVersion, kind, metadata and spec)", index, nodeKindName(target))})
			continue
		}
		c := converter{file: file, lim: lim}
		v, ok := c.value(root, 1)
		if !ok || len(c.problems) > 0 {
			problems = append(problems, c.problems...)
			continue
		}
		docs = append(docs, Document{File: file, Line: root.Line, Raw: v.(map[string]any), root: target})
	}
	if len(problems) > 0 {
		return docs, problems
	}
	return docs, nil
}

func yamlProblem(file string, err error) Problem {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: line, Message: "invalid YAML: " + m[2]}
	}
	return Problem{File: file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func invalidUTF8At(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		data = data[size:]
	}
	return line, col
}

func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		return fmt.Sprintf("a scalar (%q)", truncate(n.Value, 40))
	case yaml.MappingNode:
		return "a mapping"
	}
	return "empty"
}

// converter turns YAML nodes into plain values, enforcing the limits.
type converter struct {
	file     string
	lim      Limits
	nodes    int // values produced
	expanded int // values produced inside alias expansions
	inAlias  int // depth of alias expansions being followed
	active   map[*yaml.Node]bool
	problems Problems
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.file, Line: n.Line, Message: fmt.Sprintf(format, args...)})
}

// value converts n; false means conversion stopped at a fatal problem.
func (c *converter) value(n *yaml.Node, depth int) (any, bool) {
	if n.Kind == yaml.AliasNode {
		return c.alias(n, depth)
	}
	c.nodes++
	if c.inAlias > 0 {
		c.expanded++
	}
	if c.nodes > c.lim.MaxNodes {
		c.fail(n, "document expands to more than %d values (alias expansion limit)", c.lim.MaxNodes)
		return nil, false
	}
	if c.expanded > aliasRatioFloor && c.expanded > aliasRatio*(c.nodes-c.expanded) {
		c.fail(n, "aliases expand to more than %d times the values written in the document", aliasRatio)
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return scalarValue(n), true
	case yaml.SequenceNode:
		if depth > c.lim.MaxDepth {
			c.fail(n, "values are nested more than %d levels deep", c.lim.MaxDepth)
			return nil, false
		}
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, ok := c.value(item, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.MappingNode:
		if depth > c.lim.MaxDepth {
			c.fail(n, "values are nested more than %d levels deep", c.lim.MaxDepth)
			return nil, false
		}
		return c.mapping(n, depth)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, true
		}
		return c.value(n.Content[0], depth)
	}
	return nil, true
}

func (c *converter) mapping(n *yaml.Node, depth int) (any, bool) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.Value == "<<" && kn.ShortTag() == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		key, ok := c.key(kn)
		if !ok {
			return nil, false
		}
		if _, dup := out[key]; dup {
			c.fail(kn, "mapping key %q is already defined at line %d", key, firstKeyLine(n, key))
			continue
		}
		v, ok := c.value(vn, depth+1)
		if !ok {
			return nil, false
		}
		out[key] = v
	}
	for _, m := range merges {
		if !c.merge(out, m, depth) {
			return nil, false
		}
	}
	return out, true
}

// alias expands an alias node, refusing one that contains itself.
func (c *converter) alias(n *yaml.Node, depth int) (any, bool) {
	if n.Alias == nil {
		c.fail(n, "unknown alias *%s", n.Value)
		return nil, false
	}
	if c.active[n.Alias] {
		c.fail(n, "alias *%s refers to a value that contains it", n.Value)
		return nil, false
	}
	if c.active == nil {
		c.active = map[*yaml.Node]bool{}
	}
	c.active[n.Alias] = true
	c.inAlias++
	v, ok := c.value(n.Alias, depth)
	c.inAlias--
	delete(c.active, n.Alias)
	return v, ok
}

// firstKeyLine returns the line where key first appears in mapping n.
func firstKeyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Value == key {
			return n.Content[i].Line
		}
	}
	return 0
}

// merge applies a YAML merge key ("<<: *base" or "<<: [*a, *b]"): keys the
// mapping sets itself win, and earlier sources win over later ones.
func (c *converter) merge(out map[string]any, m *yaml.Node, depth int) bool {
	v, ok := c.value(m, depth+1)
	if !ok {
		return false
	}
	var sources []any
	switch t := v.(type) {
	case map[string]any:
		sources = []any{t}
	case []any:
		sources = t
	default:
		c.fail(m, "merge key \"<<\" needs a mapping or a sequence of mappings")
		return false
	}
	for _, s := range sources {
		sm, ok := s.(map[string]any)
		if !ok {
			c.fail(m, "merge key \"<<\" needs a mapping or a sequence of mappings")
			return false
		}
		for k, v := range sm {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	}
	return true
}

func (c *converter) key(kn *yaml.Node) (string, bool) {
	for kn.Kind == yaml.AliasNode && kn.Alias != nil {
		kn = kn.Alias
	}
	if kn.Kind != yaml.ScalarNode {
		c.fail(kn, "mapping keys must be strings, found %s", nodeKindName(kn))
		return "", false
	}
	return kn.Value, true
}

// scalarValue resolves a scalar the way YAML 1.2's core schema does (as
// Backstage's parser does: "0123" is 123, "0b1" and "1_000" are strings),
// keeping values JSON cannot hold (infinities, NaN, timestamps, binary) as
// the text that was written.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!int", "!!float":
		return numberValue(n.Value)
	}
	return n.Value
}

// numberValue parses a YAML 1.2 core schema number, returning s itself when
// it is not one.
func numberValue(s string) any {
	digits, sign := s, ""
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		sign, digits = digits[:1], digits[1:]
	}
	base := 10
	switch {
	case len(digits) > 2 && digits[0] == '0' && digits[1] == 'x' && sign == "":
		base, digits = 16, digits[2:]
	case len(digits) > 2 && digits[0] == '0' && digits[1] == 'o' && sign == "":
		base, digits = 8, digits[2:]
	}
	if digits != "" && !strings.ContainsAny(digits, "_ ") {
		if i, err := strconv.ParseInt(sign+digits, base, 64); err == nil {
			return int(i)
		}
	}
	if strings.ContainsAny(s, "_xob") || strings.HasPrefix(strings.TrimLeft(s, "+-"), ".") && strings.ContainsAny(s, "iInN") {
		return s
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Locate fills in the file and line of problems that name only a field, such
// as those of Relations, from where the field is in d.
func (d Document) Locate(ps Problems) Problems {
	for i := range ps {
		if ps[i].File == "" {
			ps[i].File = d.File
		}
		if ps[i].Line == 0 {
			ps[i].Line = d.LineOf(ps[i].Field)
		}
	}
	return ps
}
