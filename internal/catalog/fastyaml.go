package catalog

import (
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// fastYAML parses the plain subset of YAML that catalog descriptors are
// almost always written in, building the same node trees as yaml.v3 at a
// fraction of its cost: block mappings with simple keys, block sequences,
// plain, single-quoted and escape-free double-quoted scalars, one-line flow
// sequences of such scalars, "{}", literal block scalars ("|", "|-", "|+"),
// comments and "---" separators.
//
// Anything else (anchors, aliases, tags, flow mappings, folded or multi-line
// scalars, escapes, tabs, directives, unusual characters, and every error)
// makes it give up, and the file is parsed by yaml.v3 instead. So it never
// has to produce an error message itself; FuzzFastYAML checks that whatever
// it accepts, yaml.v3 parses to the same nodes.
func fastYAML(data []byte) (roots []*yaml.Node, ok bool) {
	if !fastYAMLChars(data) {
		return nil, false
	}
	text := string(data)
	p := fastParser{noFinalNewline: len(data) > 0 && data[len(data)-1] != '\n'}
	num := 0
	for len(text) > 0 {
		num++
		l, rest, _ := strings.Cut(text, "\n")
		text = rest
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || strings.HasPrefix(l, "%") {
			if l != "---" {
				return nil, false
			}
			root, ok := p.document()
			if !ok {
				return nil, false
			}
			if root != nil {
				roots = append(roots, root)
			}
			p.lines = p.lines[:0]
			continue
		}
		indent := 0
		for indent < len(l) && l[indent] == ' ' {
			indent++
		}
		p.lines = append(p.lines, fastLine{num: num, indent: indent, text: l[indent:], raw: l})
	}
	root, ok := p.document()
	if !ok {
		return nil, false
	}
	if root != nil {
		roots = append(roots, root)
	}
	return roots, true
}

// fastYAMLChars reports whether data holds only characters the fast parser
// treats exactly as yaml.v3 does: printable characters, spaces and "\n".
func fastYAMLChars(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return false
		case r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff, r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
			return false
		}
		i += size
	}
	return true
}

type fastLine struct {
	num    int    // 1-based line number
	indent int    // leading spaces
	text   string // the line after its indentation
	raw    string // the whole line, for block scalars
}

type fastParser struct {
	lines          []fastLine
	i              int
	noFinalNewline bool // the file's last line has no line break
	slab           []yaml.Node
}

// node returns a new node, allocated in chunks: a descriptor has dozens.
func (p *fastParser) node(n yaml.Node) *yaml.Node {
	if len(p.slab) == 0 {
		p.slab = make([]yaml.Node, min(2*len(p.lines)+4, 256))
	}
	x := &p.slab[0]
	p.slab = p.slab[1:]
	*x = n
	return x
}

// document parses the collected lines as one document: nil when it holds
// nothing but blanks and comments.
func (p *fastParser) document() (*yaml.Node, bool) {
	p.i = 0
	l, found := p.peek()
	if !found {
		return nil, true
	}
	if l.indent != 0 || isSeqEntry(l.text) {
		return nil, false // unusual, or not a mapping: yaml.v3 says what is wrong
	}
	root, ok := p.mapping(0)
	if !ok {
		return nil, false
	}
	if _, more := p.peek(); more {
		return nil, false
	}
	return root, true
}

// peek returns the next line with content, skipping blanks and comments.
func (p *fastParser) peek() (fastLine, bool) {
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.text == "" || l.text[0] == '#' {
			p.i++
			continue
		}
		return l, true
	}
	return fastLine{}, false
}

func isSeqEntry(text string) bool {
	return text == "-" || strings.HasPrefix(text, "- ")
}

// block parses the nested block whose first line is at indent.
func (p *fastParser) block(indent int) (*yaml.Node, bool) {
	l, _ := p.peek()
	if isSeqEntry(l.text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

// mapping parses a block mapping whose keys are at indent.
func (p *fastParser) mapping(indent int) (*yaml.Node, bool) {
	n := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
	for {
		l, found := p.peek()
		if !found || l.indent < indent {
			break
		}
		if l.indent > indent || isSeqEntry(l.text) {
			return nil, false
		}
		key, rest, isKey := splitYAMLKey(l.text)
		if !isKey {
			return nil, false
		}
		if n.Line == 0 {
			n.Line, n.Column = l.num, indent+1
		}
		kn := p.node(yaml.Node{Kind: yaml.ScalarNode, Value: key, Line: l.num, Column: indent + 1})
		p.i++
		valueCol := indent + len(key) + 2
		vn, ok := p.value(l, rest, indent, valueCol, true)
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, kn, vn)
	}
	return n, true
}

// sequence parses a block sequence whose dashes are at indent.
func (p *fastParser) sequence(indent int) (*yaml.Node, bool) {
	n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"})
	for {
		l, found := p.peek()
		if !found || l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, false
		}
		if !isSeqEntry(l.text) {
			break // back to the mapping this sequence is a value of
		}
		if n.Line == 0 {
			n.Line, n.Column = l.num, indent+1
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		col := indent + (len(l.text) - len(rest)) // where the item starts
		if rest != "" && rest[0] != '#' {
			if isSeqEntry(rest) {
				return nil, false
			}
			if _, _, isKey := splitYAMLKey(rest); isKey {
				// A compact mapping: "- key: value" with more keys below
				// at the column of "key".
				p.lines[p.i] = fastLine{num: l.num, indent: col, text: rest, raw: l.raw}
				m, ok := p.mapping(col)
				if !ok {
					return nil, false
				}
				n.Content = append(n.Content, m)
				continue
			}
		}
		p.i++
		vn, ok := p.value(l, rest, indent, col, false)
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, vn)
	}
	return n, true
}

// value parses what follows a key's colon or a sequence's dash on line l:
// rest is that text, parent the indentation of the key or dash and col the
// column where rest starts. A mapping value may be a sequence at the
// parent's own indentation.
func (p *fastParser) value(l fastLine, rest string, parent, col int, inMapping bool) (*yaml.Node, bool) {
	if rest == "" || rest[0] == '#' {
		next, found := p.peek()
		switch {
		case found && next.indent > parent:
			return p.block(next.indent)
		case found && inMapping && next.indent == parent && isSeqEntry(next.text):
			return p.sequence(parent)
		}
		return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.num, Column: col + 1}), true
	}
	var n *yaml.Node
	var ok bool
	switch rest[0] {
	case '|':
		return p.literal(l, rest, parent, col)
	case '"', '\'':
		n, ok = p.quoted(rest)
	case '[':
		n, ok = p.flowSequence(rest)
	case '{':
		if trimComment(rest) != "{}" {
			return nil, false
		}
		n, ok = p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}), true
	default:
		n, ok = p.plain(rest)
	}
	if !ok {
		return nil, false
	}
	n.Line, n.Column = l.num, col+1
	for i := range n.Content {
		n.Content[i].Line = l.num
	}
	// A scalar continued on the next lines is for yaml.v3 to fold.
	if next, found := p.peek(); found && next.indent > parent {
		return nil, false
	}
	return n, true
}

// literal parses a literal block scalar; its content lines follow l.
func (p *fastParser) literal(l fastLine, header string, parent, col int) (*yaml.Node, bool) {
	chomp := byte(0)
	switch header {
	case "|":
	case "|-":
		chomp = '-'
	case "|+":
		chomp = '+'
	default:
		return nil, false
	}
	indent := -1
	var content []string
	blank := 0 // blank lines seen since the last content line
	start := p.i
	for p.i < len(p.lines) {
		cl := p.lines[p.i]
		if strings.TrimLeft(cl.raw, " ") == "" {
			if indent >= 0 && len(cl.raw) > indent || indent < 0 && len(cl.raw) > parent+1 {
				return nil, false // spaces beyond the indentation are content; leave that to yaml.v3
			}
			blank++
			p.i++
			continue
		}
		if indent < 0 {
			if cl.indent <= parent {
				break
			}
			indent = cl.indent
		}
		if cl.indent < indent {
			break
		}
		for range blank {
			content = append(content, "")
		}
		blank = 0
		content = append(content, cl.raw[indent:])
		p.i++
	}
	if indent < 0 && p.i > start {
		return nil, false // only blank lines: leave the details to yaml.v3
	}
	value := strings.Join(content, "\n")
	switch {
	case len(content) == 0:
		value = ""
		if chomp == '+' && blank > 0 {
			return nil, false
		}
	case chomp == '-':
	case chomp == '+':
		value += strings.Repeat("\n", blank+1)
	default:
		value += "\n"
	}
	if p.i == len(p.lines) && (chomp == '+' || p.noFinalNewline) {
		return nil, false // the end of the document counts lines differently
	}
	return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Value: value, Line: l.num, Column: col + 1}), true
}

// splitYAMLKey splits "key: rest" or "key:" with a simple key.
func splitYAMLKey(text string) (key, rest string, ok bool) {
	i := 0
	for i < len(text) && isKeyChar(text[i], i == 0) {
		i++
	}
	if i == 0 || i > 1000 || i >= len(text) || text[i] != ':' {
		return "", "", false
	}
	if i+1 < len(text) && text[i+1] != ' ' {
		return "", "", false
	}
	return text[:i], strings.TrimLeft(text[i+1:], " "), true
}

func isKeyChar(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '$', c == '.', c == '/':
		return true
	case c == '-':
		return !first
	}
	return false
}

// trimComment removes a trailing " # comment" and spaces after a value
// that ends with a closing character.
func trimComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, " ")
}

// plain parses a one-line plain scalar.
func (p *fastParser) plain(s string) (*yaml.Node, bool) {
	v := trimComment(s)
	if v == "" || !plainStart(v) || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") || strings.Contains(v, " #") {
		return nil, false
	}
	return p.node(yaml.Node{Kind: yaml.ScalarNode, Value: v}), true
}

func plainStart(v string) bool {
	switch v[0] {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return v[0] == '-' && len(v) > 1 && v[1] != ' ' && v[1] != '-'
	}
	return true
}

// quoted parses a one-line quoted scalar without escapes, and checks that
// only a comment follows it.
func (p *fastParser) quoted(s string) (*yaml.Node, bool) {
	n, rest, ok := p.quotedPrefix(s)
	if !ok || trimComment(rest) != "" || (rest != "" && rest[0] != ' ') {
		return nil, false
	}
	return n, true
}

// quotedPrefix reads a quoted scalar at the start of s and returns what
// follows it.
func (p *fastParser) quotedPrefix(s string) (*yaml.Node, string, bool) {
	q := s[0]
	if q == '"' {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 || strings.IndexByte(s[1:end+1], '\\') >= 0 {
			return nil, "", false
		}
		return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: s[1 : end+1]}), s[end+2:], true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.SingleQuotedStyle, Value: b.String()}), s[i+1:], true
	}
	return nil, "", false
}

// flowSequence parses a one-line "[a, 'b', c]".
func (p *fastParser) flowSequence(s string) (*yaml.Node, bool) {
	n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle})
	rest := strings.TrimLeft(s[1:], " ")
	if strings.HasPrefix(rest, "]") {
		rest = rest[1:]
	} else {
		for {
			var item *yaml.Node
			if rest == "" {
				return nil, false
			}
			if rest[0] == '"' || rest[0] == '\'' {
				var ok bool
				item, rest, ok = p.quotedPrefix(rest)
				if !ok {
					return nil, false
				}
				rest = strings.TrimLeft(rest, " ")
			} else {
				end := strings.IndexAny(rest, ",]")
				if end < 0 {
					return nil, false
				}
				v := strings.TrimRight(rest[:end], " ")
				if v == "" || !plainStart(v) || strings.ContainsAny(v, "[]{}#") || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
					return nil, false
				}
				item = p.node(yaml.Node{Kind: yaml.ScalarNode, Value: v})
				rest = rest[end:]
			}
			n.Content = append(n.Content, item)
			if rest == "" {
				return nil, false
			}
			if rest[0] == ']' {
				rest = rest[1:]
				break
			}
			if rest[0] != ',' {
				return nil, false
			}
			rest = strings.TrimLeft(rest[1:], " ")
			if rest == "" || rest[0] == ']' || rest[0] == ',' {
				return nil, false
			}
		}
	}
	if trimComment(rest) != "" || (rest != "" && rest[0] != ' ') {
		return nil, false
	}
	return n, true
}
