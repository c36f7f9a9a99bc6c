package authz

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/auth"
)

// Filters remembered per principal must still be each principal's own:
// the second ask of every principal is answered from the memo.
func TestFilterRememberedPerPrincipal(t *testing.T) {
	a := newTestAuthorizer(t, `rules:
  - name: own
    effect: allow
    permissions: [catalog.entity.read]
    condition: resource.owner in principal.ownershipRefs || resource.spec.type == principal.claims.team
`)
	mine := component("mine", "group:default/team-a", "production")
	theirs := component("theirs", "group:default/team-b", "production")
	web := component("web", "group:default/team-c", "production")
	web.Spec["type"] = "website"
	ctx := context.Background()
	jane := user("user:default/jane", "group:default/team-a")
	bob := user("user:default/bob", "group:default/team-b")
	janeWeb := user("user:default/jane", "group:default/team-a")
	janeWeb.Claims = map[string]any{"team": "website"}
	janeOther := user("user:default/jane", "group:default/team-b")
	cases := []struct {
		p    *auth.Principal
		want map[string]bool
	}{
		{jane, map[string]bool{"mine": true, "theirs": false, "web": false}},
		{bob, map[string]bool{"mine": false, "theirs": true, "web": false}},
		{janeWeb, map[string]bool{"mine": true, "theirs": false, "web": true}},
		{janeOther, map[string]bool{"mine": false, "theirs": true, "web": false}},
	}
	for round := range 2 {
		for _, c := range cases {
			f, denyAll, err := a.Filter(ctx, c.p, PermEntityRead)
			if err != nil || denyAll || f == nil {
				t.Fatalf("round %d, %s %v: got %v, %v, %v, want a filter", round, c.p.Ref, c.p.OwnershipRefs, f, denyAll, err)
			}
			for _, e := range []struct {
				name string
				x    *entityIndex
			}{{"mine", indexEntity(withRelations(mine))}, {"theirs", indexEntity(withRelations(theirs))}, {"web", indexEntity(withRelations(web))}} {
				if got := e.x.match(f); got != c.want[e.name] {
					t.Errorf("round %d, %s %v claims %v, %s: got %v, want %v", round, c.p.Ref, c.p.OwnershipRefs, c.p.Claims, e.name, got, c.want[e.name])
				}
			}
		}
	}
	if n := len(a.cur.Load().decisions.m); n != 3 {
		t.Errorf("got %d remembered decisions, want 3 (the principal with claims is not remembered)", n)
	}
}

// BenchmarkFilterDecision compares a remembered filter decision with
// evaluating the owners-only policy for it.
func BenchmarkFilterDecision(b *testing.B) {
	a := newTestAuthorizer(b, `rules:
  - name: own
    effect: allow
    permissions: [catalog.entity.read]
    condition: resource.owner in principal.ownershipRefs || resource.spec.lifecycle == "production"
`)
	jane := user("user:default/jane", "group:default/team-0001")
	perm, _ := Lookup(PermEntityRead)
	b.Run("remembered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := a.Filter(context.Background(), jane, PermEntityRead); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("evaluated", func(b *testing.B) {
		b.ReportAllocs()
		c := a.cur.Load()
		for b.Loop() {
			if _, err := c.decide(jane, perm, PermEntityRead, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
