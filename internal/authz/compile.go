package authz

import (
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
)

// compiled is a loaded policy set, ready to decide.
type compiled struct {
	policies []*Policy
	rules    []*compiledRule
	// isDefault says no policy was configured and the built-in one applies.
	isDefault bool
	admins    []string
	// decisions remembers decisions without a resource (see decisionMemo).
	decisions decisionMemo
}

// compiledRule is a role binding, a rule, or the admins rule.
type compiledRule struct {
	name     string // "role reader", "rule hide-secrets", "admins"
	effect   string
	perms    []string
	subjects []string // nil: every authenticated caller
	cond     *condNode
	source   string
	line     int
}

func (r *compiledRule) appliesTo(perm Permission) bool {
	if r.cond.usesResource() && !perm.EntityConditions {
		return false
	}
	return slices.ContainsFunc(r.perms, func(p string) bool { return matchPermission(p, perm.Name) })
}

// compile checks and compiles policies. admins are refs allowed every
// permission (deny rules still apply to them).
func compile(env *cel.Env, policies []*Policy, admins []string) (*compiled, error) {
	c := &compiled{policies: policies}
	c.decisions.claims = readsClaims(policies)
	var probs Problems
	type roleDef struct {
		role *Role
		cond *condNode
		pol  *Policy
	}
	roles := map[string]roleDef{}
	for _, pol := range policies {
		for i := range pol.Roles {
			r := &pol.Roles[i]
			where := fmt.Sprintf("role %q", r.Name)
			if prev, dup := roles[r.Name]; dup {
				probs = append(probs, Problem{File: pol.Source, Line: r.Line, Where: where, Message: fmt.Sprintf("also defined in %s:%d", prev.pol.Source, prev.role.Line)})
				continue
			}
			cond, p := compileRuleCondition(env, pol.Source, where, r.Condition, r.condLine, r.Permissions)
			probs = append(probs, p...)
			roles[r.Name] = roleDef{role: r, cond: cond, pol: pol}
		}
	}
	for _, pol := range policies {
		for i, b := range pol.Bindings {
			def, ok := roles[b.Role]
			if !ok {
				probs = append(probs, Problem{File: pol.Source, Line: b.Line, Where: fmt.Sprintf("bindings[%d]", i), Message: fmt.Sprintf("no role named %q", b.Role)})
				continue
			}
			c.rules = append(c.rules, &compiledRule{
				name: "role " + b.Role, effect: EffectAllow, perms: def.role.Permissions,
				subjects: b.Subjects, cond: def.cond, source: pol.Source, line: b.Line,
			})
		}
		for i := range pol.Rules {
			r := &pol.Rules[i]
			where := fmt.Sprintf("rule %q", r.Name)
			cond, p := compileRuleCondition(env, pol.Source, where, r.Condition, r.condLine, r.Permissions)
			probs = append(probs, p...)
			c.rules = append(c.rules, &compiledRule{
				name: "rule " + r.Name, effect: r.Effect, perms: r.Permissions,
				subjects: r.Subjects, cond: cond, source: pol.Source, line: r.Line,
			})
		}
	}
	if len(admins) > 0 {
		subs := make([]string, 0, len(admins))
		for _, a := range admins {
			s, err := normalizeSubject(a)
			if err != nil {
				probs = append(probs, Problem{Where: "atrium.authz.admins", Message: err.Error()})
				continue
			}
			subs = append(subs, s)
		}
		c.admins = subs
		c.rules = append(c.rules, &compiledRule{name: "admins", effect: EffectAllow, perms: []string{"*"}, subjects: subs, source: "atrium.authz.admins"})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

// compileRuleCondition compiles the condition of a role or rule and checks
// that it reads resource only if every permission named explicitly can be
// tested against catalog entities (wildcards skip those that cannot).
func compileRuleCondition(env *cel.Env, file, where, src string, line int, perms []string) (*condNode, Problems) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	cond, err := compileCondition(env, src, true)
	if err != nil {
		ce, ok := err.(*conditionError)
		if !ok {
			return nil, Problems{{File: file, Line: line, Where: where, Message: "condition: " + err.Error()}}
		}
		return nil, Problems{{File: file, Line: line + ce.Line - 1, Where: where,
			Message: fmt.Sprintf("condition, column %d: %s", ce.Column+1, ce.Message)}}
	}
	if !cond.usesResource() {
		return cond, nil
	}
	var probs Problems
	for _, name := range perms {
		if strings.Contains(name, "*") {
			continue
		}
		if p, ok := Lookup(name); ok && !p.EntityConditions {
			probs = append(probs, Problem{File: file, Line: line, Where: where,
				Message: fmt.Sprintf("condition reads resource, but %s has no catalog entity to test; move it to a rule of its own", name)})
		}
	}
	return cond, probs
}
