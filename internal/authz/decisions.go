package authz

import (
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/auth"
)

// maxDecisions bounds the filter decisions a compiled policy remembers;
// past it the memory starts over.
const maxDecisions = 4096

// decisionMemo remembers, for one compiled policy, the decisions without a
// resource per principal and permission: an authorized list page asked the
// policy for the same filter on every request, building the principal's
// CEL variables, evaluating the conditions and the filter tree each time.
// A reload compiles a new policy with an empty memo. The filters it hands
// out are shared, so nothing may change them (nothing does: filters are
// built, never edited).
type decisionMemo struct {
	mu sync.Mutex
	m  map[string]Decision
	// claims says some condition reads the principal's claims, which the
	// key does not hold: decisions of principals with claims are then not
	// remembered.
	claims bool
}

// key returns the memo key of p and perm: every attribute of p a decision
// can read (its type, ref, ownership refs, scopes and how it signed in),
// each length-prefixed; ok is false when the decision may depend on p's
// claims.
func (m *decisionMemo) key(p *auth.Principal, perm string) (string, bool) {
	if m.claims && len(p.Claims) > 0 {
		return "", false
	}
	var sb strings.Builder
	add := func(s string) {
		sb.WriteString(strconv.Itoa(len(s)))
		sb.WriteByte(':')
		sb.WriteString(s)
	}
	add(perm)
	add(string(p.Type))
	add(p.Ref)
	add(p.Via)
	sb.WriteString(strconv.Itoa(len(p.OwnershipRefs)))
	for _, r := range p.OwnershipRefs {
		add(r)
	}
	sb.WriteString(strconv.Itoa(len(p.Scopes)))
	for _, s := range p.Scopes {
		add(s)
	}
	return sb.String(), true
}

func (m *decisionMemo) get(key string) (Decision, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.m[key]
	return d, ok
}

func (m *decisionMemo) put(key string, d Decision) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= maxDecisions {
		m.m = map[string]Decision{}
	}
	m.m[key] = d
}

// readsClaims reports whether any condition of policies mentions claims
// (a conservative test of the source text).
func readsClaims(policies []*Policy) bool {
	for _, pol := range policies {
		for _, r := range pol.Roles {
			if strings.Contains(r.Condition, "claims") {
				return true
			}
		}
		for _, r := range pol.Rules {
			if strings.Contains(r.Condition, "claims") {
				return true
			}
		}
	}
	return false
}
