package authz

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/suggest"
)

// Policy is one policy file: roles (sets of permissions with an optional
// condition), bindings of roles to users and groups, and rules that allow
// or deny permissions under a condition.
type Policy struct {
	// Source names the file, for errors and the permissions page.
	Source   string
	Roles    []Role
	Bindings []Binding
	Rules    []Rule
}

// Role is a named set of permissions, granted where its condition holds.
type Role struct {
	Name        string
	Description string
	Permissions []string // names or patterns: "catalog.entity.read", "catalog.*", "*"
	Condition   string   // CEL; "" means always
	Line        int
	condLine    int
}

// Binding grants a role to subjects: user and group refs, "*" (every
// authenticated caller), "user:*" or "service:*".
type Binding struct {
	Role     string
	Subjects []string
	Line     int
}

// The effects of a rule.
const (
	EffectAllow = "allow"
	EffectDeny  = "deny"
)

// Rule allows or denies permissions where its condition holds, for its
// subjects (no subjects: every authenticated caller). Deny wins over allow.
type Rule struct {
	Name        string
	Description string
	Effect      string
	Permissions []string
	Subjects    []string
	Condition   string
	Line        int
	condLine    int
}

// Problem is one thing wrong with a policy, and where.
type Problem struct {
	File string
	Line int
	// Where names the role, binding or rule ("rule \"hide-secrets\"").
	Where   string
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
	if p.Where != "" {
		b.WriteString(p.Where + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a policy; it is an error.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "invalid policy:\n  " + strings.Join(s, "\n  ")
}

// MaxPolicyBytes bounds one policy file.
const MaxPolicyBytes = 1 << 20

// ParsePolicy reads a policy file. Every problem found is returned at once,
// each naming the file, line and role, binding or rule. Conditions are
// checked when the policy is compiled.
func ParsePolicy(source string, data []byte) (*Policy, error) {
	if len(data) > MaxPolicyBytes {
		return nil, Problems{{File: source, Message: fmt.Sprintf("file is larger than %d bytes", MaxPolicyBytes)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{{File: source, Message: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	p := &policyParser{pol: &Policy{Source: source}}
	if len(doc.Content) == 0 {
		return p.pol, nil
	}
	root := doc.Content[0]
	p.fields(root, "", map[string]func(*yaml.Node){
		"apiVersion": func(v *yaml.Node) {
			if s := p.str(v, "apiVersion"); s != "" && s != APIVersion {
				p.fail(v, "", "apiVersion must be %s, got %q", APIVersion, s)
			}
		},
		"roles":    func(v *yaml.Node) { p.list(v, "roles", p.role) },
		"bindings": func(v *yaml.Node) { p.list(v, "bindings", p.binding) },
		"rules":    func(v *yaml.Node) { p.list(v, "rules", p.rule) },
	})
	if len(p.probs) > 0 {
		return nil, p.probs
	}
	return p.pol, nil
}

// APIVersion is the apiVersion a policy file may declare.
const APIVersion = "atrium.dev/v1"

type policyParser struct {
	pol   *Policy
	probs Problems
}

func (p *policyParser) fail(n *yaml.Node, where, format string, args ...any) {
	p.probs = append(p.probs, Problem{File: p.pol.Source, Line: n.Line, Where: where, Message: fmt.Sprintf(format, args...)})
}

func (p *policyParser) fields(n *yaml.Node, where string, handlers map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, where, "must be an object")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			p.fail(k, where, "key %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = true
		h, ok := handlers[k.Value]
		if !ok {
			keys := make([]string, 0, len(handlers))
			for name := range handlers {
				keys = append(keys, name)
			}
			slices.Sort(keys)
			p.fail(k, where, "unknown key %q (expected %s)", k.Value, strings.Join(keys, ", "))
			continue
		}
		h(v)
	}
}

func (p *policyParser) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, "", "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *policyParser) strs(n *yaml.Node, where, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, where, "%s must be a list of strings", what)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			p.fail(c, where, "%s must be a list of strings", what)
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func (p *policyParser) list(n *yaml.Node, what string, each func(*yaml.Node, int)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "", "%s must be a list", what)
		return
	}
	for i, c := range n.Content {
		each(c, i)
	}
}

func (p *policyParser) permissions(n *yaml.Node, where string) []string {
	perms := p.strs(n, where, "permissions")
	for i, name := range perms {
		if !validPermissionPattern(name) {
			at := n
			if n.Kind == yaml.SequenceNode {
				at = n.Content[i]
			}
			p.fail(at, where, "unknown permission %q%s", name, suggestPermission(name))
		}
	}
	return perms
}

func (p *policyParser) subjects(n *yaml.Node, where string) []string {
	subs := p.strs(n, where, "subjects")
	for i, s := range subs {
		norm, err := normalizeSubject(s)
		if err != nil {
			at := n
			if n.Kind == yaml.SequenceNode {
				at = n.Content[i]
			}
			p.fail(at, where, "%v", err)
			continue
		}
		subs[i] = norm
	}
	return subs
}

func (p *policyParser) role(n *yaml.Node, i int) {
	r := Role{Line: n.Line}
	where := fmt.Sprintf("roles[%d]", i)
	hasPerms := false
	p.fields(n, where, map[string]func(*yaml.Node){
		"name": func(v *yaml.Node) {
			r.Name = p.str(v, "name")
			where = fmt.Sprintf("role %q", r.Name)
		},
		"description": func(v *yaml.Node) { r.Description = p.str(v, "description") },
		"permissions": func(v *yaml.Node) { r.Permissions, hasPerms = p.permissions(v, where), true },
		"condition":   func(v *yaml.Node) { r.Condition, r.condLine = p.str(v, "condition"), conditionLine(v) },
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	if r.Name == "" {
		p.fail(n, where, "name is required")
	}
	if !hasPerms {
		p.fail(n, where, "permissions is required")
	}
	if slices.ContainsFunc(p.pol.Roles, func(o Role) bool { return o.Name == r.Name }) {
		p.fail(n, where, "a role with this name is already defined")
	}
	p.pol.Roles = append(p.pol.Roles, r)
}

func (p *policyParser) binding(n *yaml.Node, i int) {
	b := Binding{Line: n.Line}
	where := fmt.Sprintf("bindings[%d]", i)
	p.fields(n, where, map[string]func(*yaml.Node){
		"role":     func(v *yaml.Node) { b.Role = p.str(v, "role") },
		"subjects": func(v *yaml.Node) { b.Subjects = p.subjects(v, where) },
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	if b.Role == "" {
		p.fail(n, where, "role is required")
	}
	if len(b.Subjects) == 0 {
		p.fail(n, where, "subjects is required (user or group refs, or \"*\" for every authenticated caller)")
	}
	p.pol.Bindings = append(p.pol.Bindings, b)
}

func (p *policyParser) rule(n *yaml.Node, i int) {
	r := Rule{Line: n.Line}
	where := fmt.Sprintf("rules[%d]", i)
	hasPerms := false
	p.fields(n, where, map[string]func(*yaml.Node){
		"name": func(v *yaml.Node) {
			r.Name = p.str(v, "name")
			where = fmt.Sprintf("rule %q", r.Name)
		},
		"description": func(v *yaml.Node) { r.Description = p.str(v, "description") },
		"effect": func(v *yaml.Node) {
			r.Effect = p.str(v, "effect")
			if r.Effect != EffectAllow && r.Effect != EffectDeny {
				p.fail(v, where, "effect must be allow or deny, got %q", r.Effect)
			}
		},
		"permissions": func(v *yaml.Node) { r.Permissions, hasPerms = p.permissions(v, where), true },
		"subjects":    func(v *yaml.Node) { r.Subjects = p.subjects(v, where) },
		"condition":   func(v *yaml.Node) { r.Condition, r.condLine = p.str(v, "condition"), conditionLine(v) },
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	if r.Name == "" {
		p.fail(n, where, "name is required")
	}
	if r.Effect == "" {
		p.fail(n, where, "effect is required (allow or deny)")
	}
	if !hasPerms {
		p.fail(n, where, "permissions is required")
	}
	p.pol.Rules = append(p.pol.Rules, r)
}

// conditionLine returns the file line of the first line of a condition's
// text: block scalars (| and >) start on the line after their indicator.
func conditionLine(v *yaml.Node) int {
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return v.Line + 1
	}
	return v.Line
}

func suggestPermission(name string) string {
	best, bestD := "", 4
	for _, p := range Permissions {
		if d := suggest.Distance(name, p.Name); d < bestD {
			best, bestD = p.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
