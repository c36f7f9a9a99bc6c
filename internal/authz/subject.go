package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
)

// normalizeSubject checks a binding subject and returns its canonical form:
// "*", "user:*", "service:*", "service:<name>", or a lowercased entity ref.
func normalizeSubject(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "*", t == "user:*", t == "service:*":
		return t, nil
	case strings.HasPrefix(t, "service:") && len(t) > len("service:"):
		return t, nil
	}
	ref, err := catalog.ParseRef(s, catalog.RefDefaults{})
	if err != nil {
		return "", fmt.Errorf("subject %q is not an entity ref such as user:default/jane or group:default/team-a (or \"*\", \"user:*\", \"service:*\"): %v", s, err)
	}
	k := strings.ToLower(ref.Kind)
	if k != "user" && k != "group" {
		return "", fmt.Errorf("subject %q must be a user or a group, not a %s", s, ref.Kind)
	}
	return ref.String(), nil
}

// authenticated reports whether p is a signed-in caller.
func authenticated(p *auth.Principal) bool {
	return p != nil && p.Type != auth.PrincipalNone && p.Type != ""
}

// subjectMatches reports whether the subject names p.
func subjectMatches(subject string, p *auth.Principal) bool {
	if !authenticated(p) {
		return false
	}
	switch subject {
	case "*":
		return true
	case "user:*":
		return p.Type == auth.PrincipalUser
	case "service:*":
		return p.Type == auth.PrincipalService
	}
	if strings.EqualFold(p.Ref, subject) {
		return true
	}
	return slices.ContainsFunc(p.OwnershipRefs, func(r string) bool { return strings.EqualFold(r, subject) })
}

// activation returns the CEL variables of a principal. Refs are lowercased
// (entity refs are case-insensitive); claims are passed as they are.
func activation(p *auth.Principal) map[string]any {
	refs := make([]string, 0, len(p.OwnershipRefs)+1)
	groups := []string{}
	for _, r := range p.OwnershipRefs {
		r = strings.ToLower(r)
		refs = append(refs, r)
		if strings.HasPrefix(r, "group:") {
			groups = append(groups, r)
		}
	}
	ref := strings.ToLower(p.Ref)
	if ref != "" && !slices.Contains(refs, ref) {
		refs = append(refs, ref)
	}
	claims := p.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return map[string]any{"principal": map[string]any{
		"ref":           ref,
		"type":          string(p.Type),
		"ownershipRefs": refs,
		"groups":        groups,
		"claims":        claims,
		"scopes":        scopes,
		"via":           p.Via,
	}}
}
