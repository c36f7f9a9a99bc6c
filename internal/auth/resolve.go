package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

// GuestRef is the identity of people the catalog does not know when
// auth.unknownUsers is guest.
const GuestRef = "user:default/guest"

// maxGroups bounds the groups one user's ownership may collect, so that a
// cycle or a huge hierarchy cannot make sign-in unbounded.
const maxGroups = 1000

// Identity is who a person is in the catalog: what a session remembers.
type Identity struct {
	Ref           string         `json:"ref"`
	OwnershipRefs []string       `json:"ownershipRefs"`
	DisplayName   string         `json:"displayName,omitempty"`
	Email         string         `json:"email,omitempty"`
	Claims        map[string]any `json:"claims,omitempty"`
}

// resolver maps identity-provider claims to catalog users and computes
// ownership through groups.
type resolver struct {
	cat          engine.Catalog
	unknownUsers string

	mu    sync.Mutex
	cache map[string]cachedOwnership
	now   func() time.Time
}

type cachedOwnership struct {
	refs []string
	name string
	at   time.Time
}

// ownershipTTL is how long a computed ownership is reused for API tokens.
const ownershipTTL = time.Minute

// errUnknownUser says that the catalog has no User for a signed-in person.
type errUnknownUser struct{ who string }

func (e errUnknownUser) Error() string {
	return fmt.Sprintf("the catalog has no User entity for %s; ask the portal's administrators to add one", e.who)
}

// resolve finds the catalog user for claims with the provider's resolvers,
// tried in order; the first that finds exactly one user wins.
func (rs *resolver) resolve(ctx context.Context, resolvers []config.SignInResolver, claims map[string]any) (*Identity, error) {
	email := claimString(claims, "email")
	who := email
	if who == "" {
		who = claimString(claims, "preferred_username")
	}
	if who == "" {
		who = "subject " + claimString(claims, "sub")
	}
	allowUnknownName := ""
	for _, r := range resolvers {
		filter, name := resolverQuery(r, claims)
		if filter == nil && name == "" {
			continue
		}
		if r.AllowUnknown && name != "" && allowUnknownName == "" {
			allowUnknownName = name
		}
		var user *catalog.Entity
		if name != "" {
			e, err := rs.cat.EntityByRef(ctx, "user:default/"+strings.ToLower(name))
			if err != nil && !fault.Is(err, fault.NotFound) {
				return nil, err
			}
			user = e
		} else {
			page, err := rs.cat.Entities(ctx, engine.Query{Filter: catalog.All(catalog.In("kind", "user"), filter), Limit: 2})
			if err != nil {
				return nil, err
			}
			if len(page.Items) > 1 {
				return nil, fault.New(fault.Forbidden, "more than one User entity matches %s (%s); sign-in refused", who, r.Resolver)
			}
			if len(page.Items) == 1 {
				user = page.Items[0]
			}
		}
		if user != nil {
			id, err := rs.identityOf(ctx, user)
			if err != nil {
				return nil, err
			}
			id.Email, id.Claims = email, publicClaims(claims)
			return id, nil
		}
	}
	if allowUnknownName != "" {
		ref := "user:default/" + strings.ToLower(allowUnknownName)
		return &Identity{Ref: ref, OwnershipRefs: []string{ref}, DisplayName: displayName(claims, allowUnknownName), Email: email, Claims: publicClaims(claims)}, nil
	}
	if rs.unknownUsers == "guest" {
		return &Identity{Ref: GuestRef, OwnershipRefs: []string{GuestRef}, DisplayName: displayName(claims, "Guest"), Email: email, Claims: publicClaims(claims)}, nil
	}
	return nil, fault.Wrap(fault.Forbidden, errUnknownUser{who}, "the catalog has no User entity for %s; ask the portal's administrators to add one", who)
}

// resolverQuery returns either a filter over users or a user name to look
// up, from the claims a resolver reads; both empty when the claims lack it.
func resolverQuery(r config.SignInResolver, claims map[string]any) (*catalog.Filter, string) {
	email := claimString(claims, "email")
	switch r.Resolver {
	case "emailMatchingUserEntityProfileEmail":
		if email != "" {
			return catalog.In("spec.profile.email", email), ""
		}
	case "emailLocalPartMatchingUserEntityName":
		local, domain, ok := strings.Cut(email, "@")
		if !ok || local == "" {
			return nil, ""
		}
		if len(r.AllowedDomains) > 0 && !slices.ContainsFunc(r.AllowedDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
			return nil, ""
		}
		return nil, local
	case "usernameMatchingUserEntityName", "preferredUsernameMatchingUserEntityName":
		name := claimString(claims, "preferred_username")
		if name == "" {
			name = claimString(claims, "nickname")
		}
		if name != "" && catalogName(name) {
			return nil, name
		}
	case "emailMatchingUserEntityAnnotation":
		ann := r.Annotation
		if ann == "" {
			ann = "microsoft.com/email"
		}
		if email != "" {
			return catalog.In("metadata.annotations."+ann, email), ""
		}
	case "userIdMatchingUserEntityAnnotation":
		claim, ann := r.Claim, r.Annotation
		if claim == "" {
			claim = "oid"
		}
		if ann == "" {
			ann = "graph.microsoft.com/user-id"
		}
		if v := claimString(claims, claim); v != "" {
			return catalog.In("metadata.annotations."+ann, v), ""
		}
	case "claimMatchingUserEntityAnnotation":
		if v := claimString(claims, r.Claim); v != "" {
			return catalog.In("metadata.annotations."+r.Annotation, v), ""
		}
	}
	return nil, ""
}

// catalogName reports whether s can be an entity name, so that a claim
// never turns into a malformed ref.
func catalogName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// identityOf computes a user's identity: its ref and, transitively, the
// groups it belongs to (memberOf, then each group's childOf parents).
func (rs *resolver) identityOf(ctx context.Context, user *catalog.Entity) (*Identity, error) {
	ref := strings.ToLower(entityRef(user))
	id := &Identity{Ref: ref, OwnershipRefs: []string{ref}, DisplayName: profileName(user)}
	seen := map[string]bool{ref: true}
	var frontier []string
	for _, rel := range user.Relations {
		if strings.EqualFold(rel.Type, "memberOf") {
			frontier = append(frontier, strings.ToLower(rel.TargetRef))
		}
	}
	for len(frontier) > 0 && len(seen) <= maxGroups {
		var next []string
		var batch []string
		for _, g := range frontier {
			if !seen[g] {
				seen[g] = true
				batch = append(batch, g)
				id.OwnershipRefs = append(id.OwnershipRefs, g)
			}
		}
		if len(batch) == 0 {
			break
		}
		groups, err := rs.cat.EntitiesByRefs(ctx, batch, nil)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if g == nil {
				continue
			}
			for _, rel := range g.Relations {
				if strings.EqualFold(rel.Type, "childOf") {
					next = append(next, strings.ToLower(rel.TargetRef))
				}
			}
		}
		frontier = next
	}
	slices.Sort(id.OwnershipRefs[1:])
	return id, nil
}

// ownership returns the identity of a user ref for API tokens, cached for
// a minute so that a busy token does not query groups on every request.
// A user no longer in the catalog owns only through its own ref.
func (rs *resolver) ownership(ctx context.Context, ref string) (refs []string, name string, err error) {
	now := rs.now()
	rs.mu.Lock()
	c, ok := rs.cache[ref]
	rs.mu.Unlock()
	if ok && now.Sub(c.at) < ownershipTTL {
		return c.refs, c.name, nil
	}
	user, err := rs.cat.EntityByRef(ctx, ref)
	switch {
	case fault.Is(err, fault.NotFound):
		refs = []string{ref}
	case err != nil:
		return nil, "", err
	default:
		id, err := rs.identityOf(ctx, user)
		if err != nil {
			return nil, "", err
		}
		refs, name = id.OwnershipRefs, id.DisplayName
	}
	rs.mu.Lock()
	if rs.cache == nil || len(rs.cache) > 10_000 {
		rs.cache = map[string]cachedOwnership{}
	}
	rs.cache[ref] = cachedOwnership{refs: refs, name: name, at: now}
	rs.mu.Unlock()
	return refs, name, nil
}

func entityRef(e *catalog.Entity) string {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(e.Kind) + ":" + ns + "/" + e.Metadata.Name
}

func profileName(e *catalog.Entity) string {
	if p, ok := e.Spec["profile"].(map[string]any); ok {
		if s, ok := p["displayName"].(string); ok && s != "" {
			return s
		}
	}
	if e.Metadata.Title != "" {
		return e.Metadata.Title
	}
	return e.Metadata.Name
}

func claimString(claims map[string]any, key string) string {
	s, _ := claims[key].(string)
	return strings.TrimSpace(s)
}

func displayName(claims map[string]any, fallback string) string {
	if s := claimString(claims, "name"); s != "" {
		return s
	}
	return fallback
}

// publicClaims keeps the claims worth remembering in a session: who the
// person is, never tokens.
func publicClaims(claims map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"iss", "sub", "email", "name", "preferred_username", "groups"} {
		if v, ok := claims[k]; ok {
			out[k] = v
		}
	}
	return out
}
