package auth

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

// lookupCounter is a catalog without entities that counts lookups.
type lookupCounter struct {
	engine.Catalog
	lookups int
}

func (c *lookupCounter) EntityByRef(context.Context, string) (*catalog.Entity, error) {
	c.lookups++
	return nil, fault.New(fault.NotFound, "none")
}

func TestDevelopmentPrincipalSharedWhileOwnershipCached(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cat := &lookupCounter{}
	const ref = "user:default/guest"
	a := &Authenticator{p: Params{Auth: config.Auth{DevelopmentUser: ref}},
		res: &resolver{cat: cat, now: func() time.Time { return now }}}
	ctx := context.Background()

	p1 := a.developmentPrincipal(ctx)
	p2 := a.developmentPrincipal(ctx)
	if p1 != p2 {
		t.Errorf("second request: got a new principal, want the shared one")
	}
	if cat.lookups != 1 {
		t.Errorf("lookups: got %d, want 1", cat.lookups)
	}
	if p1.Type != PrincipalUser || p1.Ref != ref || p1.Via != ViaDevelopment || p1.DisplayName != ref ||
		!slices.Equal(p1.OwnershipRefs, []string{ref}) || p1.Claims["sub"] != ref {
		t.Errorf("got %+v, want the development user", p1)
	}

	now = now.Add(ownershipTTL) // the ownership is computed again
	p3 := a.developmentPrincipal(ctx)
	if p3 == p1 {
		t.Errorf("after the ownership expired: got the old principal, want a new one")
	}
	if cat.lookups != 2 {
		t.Errorf("lookups after expiry: got %d, want 2", cat.lookups)
	}
	if !slices.Equal(p3.OwnershipRefs, p1.OwnershipRefs) || p3.Ref != ref {
		t.Errorf("got %+v, want the same user", p3)
	}
	if p4 := a.developmentPrincipal(ctx); p4 != p3 {
		t.Errorf("got a new principal, want the one built after expiry")
	}
}
