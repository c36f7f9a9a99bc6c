package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// Result is the outcome of a decision, spelled as Backstage spells it.
type Result string

// The results.
const (
	Allow       Result = "ALLOW"
	Deny        Result = "DENY"
	Conditional Result = "CONDITIONAL"
)

// Decision is the answer to "may p do perm (to this resource)?".
type Decision struct {
	Result     Result
	Permission string
	// Filter, for Conditional, selects the catalog entities the permission
	// is allowed on.
	Filter *catalog.Filter
	// Reason says why, for denials and the permissions page.
	Reason string
}

// Resource is what a permission is checked against: a catalog entity.
type Resource struct {
	Entity *catalog.Entity
}

// Params configure an Authorizer.
type Params struct {
	// Files are policy files, merged. None: the built-in default policy.
	Files []string
	// Admins are user and group refs allowed every permission; deny rules
	// still apply to them.
	Admins []string
	// Logger receives reload results; nil discards them.
	Logger *slog.Logger
	// Audit, when set, is where denials are recorded; by default they go
	// to audit.Record with the request's context.
	Audit func(ctx context.Context, ev audit.Event) error
	// URLs are policies read over HTTP(S), merged after Files: a policy
	// file kept in Git and served by the Git host (GitOps). They are read
	// at start and again by Refresh.
	URLs []string
	// Fetch reads a policy URL; the app's reader honours
	// backend.reading.allow. Required when URLs are set.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// Events, when set, records policy reloads (changes and failures) in
	// the audit log; reloads run outside any request.
	Events func(ctx context.Context, ev audit.Event) error
}

// Authorizer decides with the current policy, which Reload replaces
// atomically; a policy that fails to load never replaces a good one.
type Authorizer struct {
	env    *cel.Env
	params Params
	log    *slog.Logger
	cur    atomic.Pointer[compiled]

	reloading sync.Mutex // one reload at a time, so an older read never wins

	mu     sync.Mutex
	status Status
	seen   map[string]fileStamp
}

// Status is the state of the loaded policy, for the permissions page.
type Status struct {
	Sources  []string
	Default  bool
	LoadedAt time.Time
	// LastError is the latest reload failure since the last success; the
	// previous policy stays in force.
	LastError   string
	LastErrorAt time.Time
}

// New loads the policy. A policy that fails to load is an error: Atrium
// does not start with a policy it cannot read.
func New(p Params) (*Authorizer, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("authz: CEL environment: %w", err)
	}
	if len(p.URLs) > 0 && p.Fetch == nil {
		return nil, fmt.Errorf("authz: policy URLs need a reader")
	}
	a := &Authorizer{env: env, params: p, log: p.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	c, stamps, err := a.load(context.Background())
	if err != nil {
		return nil, err
	}
	a.swap(c, stamps)
	return a, nil
}

// load reads and compiles the configured policy files and URLs (or the
// default).
func (a *Authorizer) load(ctx context.Context) (*compiled, map[string]fileStamp, error) {
	if len(a.params.Files) == 0 && len(a.params.URLs) == 0 {
		pol, err := ParsePolicy(DefaultPolicySource, defaultPolicy)
		if err != nil {
			return nil, nil, err
		}
		c, err := compile(a.env, []*Policy{pol}, a.params.Admins)
		if err != nil {
			return nil, nil, err
		}
		c.isDefault = true
		return c, nil, nil
	}
	var pols []*Policy
	stamps := map[string]fileStamp{}
	var probs Problems
	for _, f := range a.params.Files {
		data, st, err := readPolicyFile(f)
		if err != nil {
			return nil, nil, err
		}
		stamps[f] = st
		pol, err := ParsePolicy(f, data)
		var ps Problems
		if errors.As(err, &ps) {
			probs = append(probs, ps...)
			continue
		} else if err != nil {
			return nil, nil, err
		}
		pols = append(pols, pol)
	}
	for _, u := range a.params.URLs {
		data, st, err := a.fetchPolicy(ctx, u)
		if err != nil {
			return nil, stamps, err
		}
		stamps[u] = st
		pol, err := ParsePolicy(u, data)
		var ps Problems
		if errors.As(err, &ps) {
			probs = append(probs, ps...)
			continue
		} else if err != nil {
			return nil, stamps, err
		}
		pols = append(pols, pol)
	}
	if len(probs) > 0 {
		return nil, stamps, probs
	}
	c, err := compile(a.env, pols, a.params.Admins)
	return c, stamps, err
}

func (a *Authorizer) swap(c *compiled, stamps map[string]fileStamp) {
	a.cur.Store(c)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = stamps
	a.status = Status{Default: c.isDefault, LoadedAt: time.Now()}
	for _, p := range c.policies {
		a.status.Sources = append(a.status.Sources, p.Source)
	}
}

// Status returns the state of the loaded policy.
func (a *Authorizer) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.status
	s.Sources = append([]string(nil), s.Sources...)
	return s
}

// Policies returns the loaded policies, for the permissions page.
func (a *Authorizer) Policies() []*Policy { return a.cur.Load().policies }

// Admins returns the normalized admin refs.
func (a *Authorizer) Admins() []string { return append([]string(nil), a.cur.Load().admins...) }

// Authorize decides whether p may use perm, on res when the permission is
// about a resource. Without a resource, a permission whose conditions read
// the resource is Conditional, with the filter of entities it allows.
// Denials are recorded in the audit log.
func (a *Authorizer) Authorize(ctx context.Context, p *auth.Principal, perm string, res *Resource) (Decision, error) {
	d, err := a.decide(p, perm, res)
	if err != nil {
		return d, err
	}
	if d.Result == Deny {
		a.recordDenial(ctx, d, res)
	}
	return d, nil
}

// Filter returns the catalog filter of the entities p may use perm on: nil
// when every entity is allowed, and denyAll when none is.
func (a *Authorizer) Filter(ctx context.Context, p *auth.Principal, perm string) (f *catalog.Filter, denyAll bool, err error) {
	d, err := a.decide(p, perm, nil)
	if err != nil {
		return nil, false, err
	}
	switch d.Result {
	case Allow:
		return nil, false, nil
	case Deny:
		return nil, true, nil
	}
	return d.Filter, false, nil
}

// Check is Authorize for callers that only need an error: nil when
// allowed, fault.Forbidden naming the permission otherwise.
func (a *Authorizer) Check(ctx context.Context, p *auth.Principal, perm string, res *Resource) error {
	d, err := a.Authorize(ctx, p, perm, res)
	if err != nil {
		return err
	}
	if d.Result != Allow {
		return fault.New(fault.Forbidden, "not allowed: %s (%s)", perm, d.Reason)
	}
	return nil
}

func (a *Authorizer) decide(p *auth.Principal, name string, res *Resource) (Decision, error) {
	perm, ok := Lookup(name)
	if !ok {
		return Decision{}, fault.New(fault.Invalid, "unknown permission %q", name)
	}
	d := Decision{Permission: name}
	if !authenticated(p) {
		d.Result, d.Reason = Deny, "not signed in"
		return d, nil
	}
	if !scopeAllows(p.Scopes, name) {
		d.Result, d.Reason = Deny, "the token's scopes do not include "+name
		return d, nil
	}
	c := a.cur.Load()
	if allowedOutright(c.rules, perm, p) {
		d.Result = Allow
		return d, nil
	}
	if res == nil {
		key, ok := c.decisions.key(p, name)
		if ok {
			if d, hit := c.decisions.get(key); hit {
				return d, nil
			}
		}
		d, err := c.decide(p, perm, name, nil)
		if ok && err == nil {
			c.decisions.put(key, d)
		}
		return d, err
	}
	return c.decide(p, perm, name, res)
}

// decide is Authorizer.decide past the checks that need no rule.
func (c *compiled) decide(p *auth.Principal, perm Permission, name string, res *Resource) (Decision, error) {
	d := Decision{Permission: name}
	// The CEL variables only for a rule with a condition: a decision that
	// needs none (read allowed outright) stays cheap.
	var act map[string]any
	var allows, denies []*catalog.Filter
	var denyRules []*compiledRule
	var denyFilters []*catalog.Filter
	for _, r := range c.rules {
		if !r.appliesTo(perm) || !r.matchesSubject(p) {
			continue
		}
		t := all()
		if r.cond != nil {
			if act == nil {
				act = activation(p)
			}
			t, _ = r.cond.filters(act)
		}
		if r.effect == EffectDeny {
			denies = append(denies, t)
			denyRules = append(denyRules, r)
			denyFilters = append(denyFilters, t)
			continue
		}
		allows = append(allows, t)
	}
	allow, deny := or(allows...), or(denies...)
	f := and(allow, not(deny))
	switch {
	case isAll(f):
		d.Result = Allow
		return d, nil
	case isNone(f):
		d.Result, d.Reason = Deny, denyReason(name, allow, denyRules, denyFilters, nil)
		return d, nil
	}
	if res == nil || res.Entity == nil {
		d.Result, d.Filter = Conditional, f
		return d, nil
	}
	x := indexEntity(withRelations(res.Entity))
	if x.match(f) {
		d.Result = Allow
		return d, nil
	}
	d.Result, d.Reason = Deny, denyReason(name, allow, denyRules, denyFilters, x)
	return d, nil
}

// allowedOutright reports whether the rules that apply to perm and p
// allow it without a condition and deny nothing: the decision is Allow, as
// the filters decide would build say, without building them (they were
// five allocations on every cached by-name request).
func allowedOutright(rules []*compiledRule, perm Permission, p *auth.Principal) bool {
	allowed := false
	for _, r := range rules {
		if !r.appliesTo(perm) || !r.matchesSubject(p) {
			continue
		}
		if r.cond != nil || r.effect == EffectDeny {
			return false
		}
		allowed = true
	}
	return allowed
}

// denyReason names the deny rule that matched, or says nothing allowed.
func denyReason(perm string, allow *catalog.Filter, rules []*compiledRule, filters []*catalog.Filter, x *entityIndex) string {
	for i, r := range rules {
		if isAll(filters[i]) || (x != nil && x.match(filters[i])) {
			return "denied by " + r.name
		}
	}
	if x != nil && x.match(allow) {
		return "denied by a deny rule"
	}
	if x != nil {
		return "no role or rule allows " + perm + " on this entity"
	}
	return "no role or rule allows " + perm
}

func (r *compiledRule) matchesSubject(p *auth.Principal) bool {
	if len(r.subjects) == 0 {
		return authenticated(p)
	}
	for _, s := range r.subjects {
		if subjectMatches(s, p) {
			return true
		}
	}
	return false
}

// scopeAllows reports whether a token's scopes include perm. No scopes
// means the principal's full rights. Scopes are permission names or
// patterns ("catalog.*").
func scopeAllows(scopes []string, perm string) bool {
	if len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		if matchPermission(strings.TrimSpace(s), perm) {
			return true
		}
	}
	return false
}

// recordDenial writes a denied decision to the audit log.
func (a *Authorizer) recordDenial(ctx context.Context, d Decision, res *Resource) {
	ev := audit.Event{
		Action:  d.Permission,
		Outcome: audit.Denied,
		Details: map[string]any{"reason": d.Reason},
	}
	if res != nil && res.Entity != nil {
		ev.Resource = res.Entity.Ref().String()
	}
	record := a.params.Audit
	if record == nil {
		record = audit.Record
	}
	if err := record(ctx, ev); err != nil && !errors.Is(err, audit.ErrNoLog) {
		a.log.Error("recording a denied decision in the audit log", "permission", d.Permission, "error", err.Error())
	}
}
