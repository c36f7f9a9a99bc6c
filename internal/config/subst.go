package config

import (
	"fmt"
	"strings"
)

// substitute replaces ${VAR}, ${VAR:-default} and secret references
// (${env:NAME}, ${file:PATH}, ${vault:PATH#KEY}) in every scalar of n, in
// place. "$${" is an escaped "${". An undefined variable without a default is
// an error naming the file, line, key and variable.
func (sub *substitution) substitute(n *node, path string) []Problem {
	var probs []Problem
	switch n.kind {
	case kindScalar:
		if !strings.Contains(n.text, "${") {
			return nil
		}
		sub.at = SecretRef{Key: path, File: n.file, Line: n.line}
		out, err := sub.expand(n.text)
		if err != nil {
			return []Problem{{File: n.file, Line: n.line, Key: path, Message: err.Error()}}
		}
		n.text = out
	case kindMap:
		for _, k := range n.keys {
			probs = append(probs, sub.substitute(n.values[k], join(path, k))...)
		}
	case kindSeq:
		for i, c := range n.items {
			probs = append(probs, sub.substitute(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return probs
}

// expand performs ${VAR} substitution on one string.
func expand(s string, env map[string]string) (string, error) {
	return (&substitution{env: env}).expand(s)
}

// expand performs the substitution on one string.
func (sub *substitution) expand(s string) (string, error) {
	env := sub.env
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
		if kind, ref, ok := secretRef(expr); ok {
			v, err := sub.secret(kind, ref)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			continue
		}
		name, def, hasDef := strings.Cut(expr, ":-")
		name = strings.TrimSpace(name)
		if !validVarName(name) {
			return "", fmt.Errorf("invalid variable name %q in ${%s}", name, expr)
		}
		v, ok := env[name]
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
			if secretKey(sub.at.Key) {
				sub.values = append(sub.values, v)
			}
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
