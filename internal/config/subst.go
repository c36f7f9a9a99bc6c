package config

import (
	"fmt"
	"strings"
)

// substitute replaces ${VAR} and ${VAR:-default} in every scalar of n, in
// place. "$${" is an escaped "${". An undefined variable without a default is
// an error naming the file, line, key and variable.
func substitute(n *node, path string, env map[string]string) []Problem {
	var probs []Problem
	switch n.kind {
	case kindScalar:
		if !strings.Contains(n.text, "${") {
			return nil
		}
		out, err := expand(n.text, env)
		if err != nil {
			return []Problem{{File: n.file, Line: n.line, Key: path, Message: err.Error()}}
		}
		n.text = out
	case kindMap:
		for _, k := range n.keys {
			probs = append(probs, substitute(n.values[k], join(path, k), env)...)
		}
	case kindSeq:
		for i, c := range n.items {
			probs = append(probs, substitute(c, fmt.Sprintf("%s[%d]", path, i), env)...)
		}
	}
	return probs
}

// expand performs the substitution on one string.
func expand(s string, env map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			// "$${" is a literal "${".
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		expr := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(expr, ":-")
		name = strings.TrimSpace(name)
		if !validVarName(name) {
			return "", fmt.Errorf("invalid variable name %q in ${%s}", name, expr)
		}
		v, ok := env[name]
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} to give a default)", name, name)
		}
	}
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
