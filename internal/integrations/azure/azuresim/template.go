package azuresim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// scope is what template expressions can read.
type scope struct {
	params map[string]any
	vars   map[string]any
	group  *Group
	sub    string
}

// eval evaluates a template value: strings of the form "[expr]" are ARM
// expressions ("[[" escapes a literal "["); maps and arrays are walked.
func (s *scope) eval(v any) (any, error) {
	switch t := v.(type) {
	case string:
		if strings.HasPrefix(t, "[[") {
			return t[1:], nil
		}
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			p := &exprParser{src: t[1 : len(t)-1], s: s}
			out, err := p.expr()
			if err != nil {
				return nil, fmt.Errorf("expression %q: %w", t, err)
			}
			p.space()
			if p.pos != len(p.src) {
				return nil, fmt.Errorf("expression %q: unexpected %q", t, p.src[p.pos:])
			}
			return out, nil
		}
		return t, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			e, err := s.eval(x)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			e, err := s.eval(x)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	return v, nil
}

// exprParser reads the subset of the ARM expression language the
// simulator understands: string and number literals, parameters(),
// variables(), resourceGroup(), subscription(), concat(), toLower(),
// toUpper(), uniqueString() and property access.
type exprParser struct {
	src string
	pos int
	s   *scope
}

func (p *exprParser) space() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *exprParser) expr() (any, error) {
	p.space()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("expression ends early")
	}
	var v any
	switch c := p.src[p.pos]; {
	case c == '\'':
		p.pos++
		var b strings.Builder
		for {
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("unterminated string")
			}
			if p.src[p.pos] == '\'' {
				if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
					b.WriteByte('\'')
					p.pos += 2
					continue
				}
				p.pos++
				break
			}
			b.WriteByte(p.src[p.pos])
			p.pos++
		}
		v = b.String()
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.Atoi(p.src[start:p.pos])
		if err != nil {
			return nil, err
		}
		v = float64(n)
	default:
		start := p.pos
		for p.pos < len(p.src) && (isLetter(p.src[p.pos]) || (p.pos > start && p.src[p.pos] >= '0' && p.src[p.pos] <= '9')) {
			p.pos++
		}
		name := p.src[start:p.pos]
		if name == "" {
			return nil, fmt.Errorf("unexpected %q", p.src[p.pos:])
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != '(' {
			return nil, fmt.Errorf("%s is not a function call", name)
		}
		p.pos++
		var args []any
		for {
			p.space()
			if p.pos < len(p.src) && p.src[p.pos] == ')' {
				p.pos++
				break
			}
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			p.space()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
			}
		}
		var err error
		if v, err = p.s.call(strings.ToLower(name), args); err != nil {
			return nil, err
		}
	}
	for {
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != '.' {
			return v, nil
		}
		p.pos++
		start := p.pos
		for p.pos < len(p.src) && (isLetter(p.src[p.pos]) || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
			p.pos++
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("property %s of a value that has none", p.src[start:p.pos])
		}
		v = m[p.src[start:p.pos]]
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func (s *scope) call(name string, args []any) (any, error) {
	str := func(i int) string {
		if i < len(args) {
			return fmt.Sprint(args[i])
		}
		return ""
	}
	switch name {
	case "parameters":
		v, ok := s.params[str(0)]
		if !ok {
			return nil, fmt.Errorf("parameter %q is not declared", str(0))
		}
		return v, nil
	case "variables":
		v, ok := s.vars[str(0)]
		if !ok {
			return nil, fmt.Errorf("variable %q is not declared", str(0))
		}
		return v, nil
	case "resourcegroup":
		return map[string]any{"id": s.group.ID, "name": s.group.Name, "location": s.group.Location}, nil
	case "subscription":
		return map[string]any{"id": "/subscriptions/" + s.sub, "subscriptionId": s.sub}, nil
	case "concat":
		var b strings.Builder
		for i := range args {
			b.WriteString(str(i))
		}
		return b.String(), nil
	case "tolower":
		return strings.ToLower(str(0)), nil
	case "toupper":
		return strings.ToUpper(str(0)), nil
	case "uniquestring":
		h := sha256.New()
		for i := range args {
			h.Write([]byte(str(i) + "\x00"))
		}
		return hex.EncodeToString(h.Sum(nil))[:13], nil
	}
	return nil, fmt.Errorf("function %s() is not supported by the simulator", name)
}
