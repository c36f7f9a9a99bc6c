package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// TestFilterMatchesDecisions is the SQL-equivalence property: for random
// policies, principals and entities, the entities the store returns for
// Filter's catalog filter are exactly those for which Authorize allows
// catalog.entity.read one entity at a time.
//
// It runs on SQLite, and on PostgreSQL when ATRIUM_TEST_POSTGRES is set. The
// total count is checked too: counting takes its own path (id sets when no
// selective condition drives the query).
func TestFilterMatchesDecisions(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testFilterMatchesDecisions(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		testFilterMatchesDecisions(t, testdb.Postgres(t))
	})
}

func testFilterMatchesDecisions(t *testing.T, db store.Driver) {
	ctx := context.Background()
	seed := uint64(20260501)
	rng := rand.New(rand.NewPCG(seed, seed))
	entities := randomEntities(t, rng, 80)
	writeEntities(t, db, entities)

	policies, principals := 60, 6
	if testing.Short() {
		policies = 15
	}
	// Later rounds rewrite and delete some entities first: totals are
	// counted from id sets the store keeps between counts and patches
	// after each write.
	for round := range 3 {
		if round > 0 {
			fresh := randomEntities(t, rng, len(entities))
			var changed []*catalog.Entity
			for i := range entities {
				if rng.IntN(5) == 0 {
					fresh[i].Metadata.Name = entities[i].Metadata.Name
					fresh[i].Kind, fresh[i].Metadata.Namespace = entities[i].Kind, entities[i].Metadata.Namespace
					entities[i] = fresh[i]
					changed = append(changed, fresh[i])
				}
			}
			writeEntities(t, db, changed)
			gone := entities[rng.IntN(len(entities))].Ref().String()
			if err := db.EntityDelete(ctx, []string{gone}); err != nil {
				t.Fatal(err)
			}
		}
		checkDecisions(t, db, rng, policies/3, principals, round)
	}
}

// checkDecisions compares, for random policies and principals, the
// entities and the total the store returns for the policy's filter with
// the entities Authorize allows one at a time.
func checkDecisions(t *testing.T, db store.Driver, rng *rand.Rand, policies, principals, round int) {
	t.Helper()
	ctx := context.Background()
	stitched := readAll(t, db)
	for i := range policies {
		src := randomPolicy(rng)
		a := newTestAuthorizer(t, src)
		for j := range principals {
			p := randomPrincipal(rng)
			f, denyAll, err := a.Filter(ctx, p, PermEntityRead)
			if err != nil {
				t.Fatal(err)
			}
			var fromSQL []string
			total := 0
			if !denyAll {
				res, err := db.EntityList(ctx, store.EntityListParams{Filter: f})
				if err != nil {
					t.Fatalf("policy %d: EntityList(%s): %v", i, FilterString(f), err)
				}
				for _, s := range res.Items {
					fromSQL = append(fromSQL, s.Ref)
				}
				// A one-item page counts its total rather than
				// taking the length of a complete first page.
				page, err := db.EntityList(ctx, store.EntityListParams{Filter: f, Limit: 1, CountTotal: true})
				if err != nil {
					t.Fatalf("policy %d: EntityList(%s): %v", i, FilterString(f), err)
				}
				total = page.Total
			}
			var perEntity []string
			for _, e := range stitched {
				d, err := a.Authorize(ctx, p, PermEntityRead, &Resource{Entity: e})
				if err != nil {
					t.Fatal(err)
				}
				if d.Result == Allow {
					perEntity = append(perEntity, e.Ref().String())
				}
			}
			slices.Sort(fromSQL)
			slices.Sort(perEntity)
			if !slices.Equal(fromSQL, perEntity) {
				t.Fatalf("round %d, policy %d, principal %d (%+v):\n%s\nfilter: %s\ngot from SQL %v\nwant (per entity) %v",
					round, i, j, p, src, FilterString(f), fromSQL, perEntity)
			}
			if total != len(perEntity) {
				t.Fatalf("round %d, policy %d, principal %d (%+v):\n%s\nfilter: %s\ngot total %d, want %d",
					round, i, j, p, src, FilterString(f), total, len(perEntity))
			}
			if !denyAll {
				checkKindPages(t, db, f, stitched, perEntity)
			}
		}
	}
}

// checkKindPages pages through the components the filter allows in name
// order, as the catalog's list does (on PostgreSQL, with the policy's
// conditions under OR or NOT, such a walk tests cached id sets instead of
// probing each row), and compares the pages and their total with the
// components among allowed.
func checkKindPages(t *testing.T, db store.Driver, f *catalog.Filter, stitched []*catalog.Entity, allowed []string) {
	t.Helper()
	type named struct{ name, uid, ref string }
	var want []named
	for _, e := range stitched {
		ref := e.Ref().String()
		if strings.EqualFold(e.Kind, "component") && slices.Contains(allowed, ref) {
			want = append(want, named{strings.ToLower(e.Metadata.Name), e.Metadata.UID, ref})
		}
	}
	slices.SortFunc(want, func(a, b named) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.uid, b.uid)
	})
	filter := catalog.In("kind", "component")
	if f != nil {
		filter = catalog.All(filter, f)
	}
	var got []string
	var after *store.Position
	for page := 0; ; page++ {
		res, err := db.EntityList(context.Background(), store.EntityListParams{
			Filter: filter, Order: &store.Order{Field: "metadata.name"}, Limit: 7, After: after, CountTotal: page == 0,
		})
		if err != nil {
			t.Fatalf("EntityList(%s): %v", FilterString(filter), err)
		}
		if page == 0 && res.Total != len(want) {
			t.Fatalf("filter %s: got total %d, want %d", FilterString(filter), res.Total, len(want))
		}
		for _, s := range res.Items {
			got = append(got, s.Ref)
		}
		if !res.HasMore || len(res.Items) == 0 || page > len(want) {
			break
		}
		last := res.Items[len(res.Items)-1]
		after = &store.Position{Value: last.SortValue, UID: last.UID}
	}
	var wantRefs []string
	for _, w := range want {
		wantRefs = append(wantRefs, w.ref)
	}
	if !slices.Equal(got, wantRefs) {
		t.Fatalf("filter %s: got pages %v, want %v", FilterString(filter), got, wantRefs)
	}
}

// writeEntities stores entities with the search rows and relation rows the
// catalog derives from them.
func writeEntities(t testing.TB, db store.Driver, ents []*catalog.Entity) {
	t.Helper()
	recs := make([]catalog.Record, 0, len(ents))
	for i, e := range ents {
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		rels, _ := catalog.Relations(e)
		ref := e.Ref().String()
		recs = append(recs, catalog.Record{
			UID: fmt.Sprintf("uid-%05d", i), Ref: ref, Kind: e.Kind, Namespace: e.Metadata.Namespace, Name: e.Metadata.Name,
			Body: body, Hash: ref, Relations: rels, Search: catalog.SearchRows(e), Text: catalog.FullTextDocument(e),
		})
	}
	for chunk := range slices.Chunk(recs, 500) {
		if _, err := db.EntityUpsert(context.Background(), store.EntityUpsertParams{Records: chunk}); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll returns every stored entity as the engine serves it (stitched,
// with its relations from the relation rows).
func readAll(t testing.TB, db store.Driver) []*catalog.Entity {
	t.Helper()
	res, err := db.EntityList(context.Background(), store.EntityListParams{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*catalog.Entity, len(res.Items))
	for i, s := range res.Items {
		if out[i], err = engine.Stitch(s); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func randomEntities(t testing.TB, rng *rand.Rand, n int) []*catalog.Entity {
	t.Helper()
	ents := make([]*catalog.Entity, n)
	for i := range ents {
		kind := pick(rng, "Component", "API", "Resource", "System")
		spec := map[string]any{}
		if o := pick(rng, "team-a", "Team-B", "group:default/team-c", "user:default/jane", "user:ops/Jane", ""); o != "" {
			spec["owner"] = o
		}
		if v := pick(rng, "service", "website", "Library", ""); v != "" {
			spec["type"] = v
		}
		if v := pick(rng, "production", "experimental", ""); v != "" {
			spec["lifecycle"] = v
		}
		if rng.IntN(4) == 0 {
			spec["tags"] = []any{pick(rng, "x", "y"), "z"}
		}
		m := catalog.Metadata{
			Name:      fmt.Sprintf("e%d-%s", i, pick(rng, "alpha", "Beta", "team-x")),
			Namespace: pick(rng, "default", "ops"),
		}
		for _, tag := range []string{"java", "go", "secret", "team-x", "team-y"} {
			if rng.IntN(4) == 0 {
				m.Tags = append(m.Tags, tag)
			}
		}
		if v := pick(rng, "gold", "Silver", ""); v != "" {
			m.Labels = map[string]string{"tier": v}
		}
		if v := pick(rng, "prod", "dev", ""); v != "" {
			m.Annotations = map[string]string{"example.com/env": v}
		}
		ents[i] = &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: kind, Metadata: m, Spec: spec}
	}
	return ents
}

func randomPrincipal(rng *rand.Rand) *auth.Principal {
	if rng.IntN(10) == 0 {
		return pick(rng, nil, &auth.Principal{Type: auth.PrincipalNone})
	}
	p := user(pick(rng, "user:default/jane", "user:default/bob", "user:ops/jane"))
	for _, g := range []string{"group:default/team-a", "group:default/team-b", "group:default/TEAM-C", "group:default/security"} {
		if rng.IntN(2) == 0 {
			p.OwnershipRefs = append(p.OwnershipRefs, g)
		}
	}
	p.Claims = map[string]any{}
	if rng.IntN(2) == 0 {
		p.Claims["team"] = pick(rng, "service", "Website", "production")
	}
	if rng.IntN(2) == 0 {
		p.Claims["level"] = int64(rng.IntN(5))
	}
	if rng.IntN(3) == 0 {
		p.Claims["prefixes"] = []any{"e1", pick(rng, "e2", "E3")}
	}
	return p
}

// conditionAtoms are the leaves random conditions are built from: every
// translatable form, over present and missing attributes and claims.
var conditionAtoms = []string{
	`true`, `false`,
	`resource.kind == "component"`,
	`resource.kind != "API"`,
	`resource.kind in ["api", "System"]`,
	`resource.namespace == "ops"`,
	`resource.name.startsWith("e1")`,
	`resource.name.startsWith(principal.ref)`,
	`resource.owner in principal.ownershipRefs`,
	`resource.owner == "group:default/team-b"`,
	`resource.owner != principal.ref`,
	`has(resource.owner)`,
	`resource.owner in principal.groups`,
	`"secret" in resource.tags`,
	`resource.tags.exists(t, t.startsWith("team-") || t == "go")`,
	`resource.labels["tier"] == "gold"`,
	`resource.labels.tier != "silver"`,
	`"tier" in resource.labels`,
	`has(resource.labels.tier)`,
	`"example.com/env" in resource.annotations`,
	`resource.annotations["example.com/env"] == "prod"`,
	`resource.spec.type == "service"`,
	`resource.spec.type == principal.claims.team`,
	`resource.spec.lifecycle != "production"`,
	`resource.spec.lifecycle in ["production", "experimental"]`,
	`has(resource.spec.lifecycle)`,
	`"x" in resource.spec.tags`,
	`resource.spec.tags.exists(t, t == "y")`,
	`resource.name.startsWith(principal.claims.prefixes[0])`,
	`resource.metadata_missing_claim == "x" || true`,
	`principal.claims.level > 2`,
	`"group:default/security" in principal.ownershipRefs`,
	`principal.claims.prefixes.exists(p, resource.name.startsWith(p))`,
}

func randomCondition(rng *rand.Rand, depth int) string {
	if depth <= 0 || rng.IntN(3) == 0 {
		for {
			a := pick(rng, conditionAtoms...)
			if !strings.Contains(a, "metadata_missing") && !strings.Contains(a, "prefixes.exists") {
				return a
			}
		}
	}
	switch rng.IntN(3) {
	case 0:
		return "(" + randomCondition(rng, depth-1) + ") && (" + randomCondition(rng, depth-1) + ")"
	case 1:
		return "(" + randomCondition(rng, depth-1) + ") || (" + randomCondition(rng, depth-1) + ")"
	}
	return "!(" + randomCondition(rng, depth-1) + ")"
}

func randomPolicy(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range 1 + rng.IntN(4) {
		fmt.Fprintf(&b, "  - name: r%d\n    effect: %s\n    permissions: [%s]\n", i,
			pick(rng, "allow", "allow", "deny"), pick(rng, "catalog.entity.read", "catalog.*", "\"*\""))
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, "    subjects: [%s]\n", pick(rng, "group:default/team-a", "user:default/jane", "\"user:*\"", "group:default/team-c"))
		}
		if rng.IntN(6) != 0 {
			cond, _ := json.Marshal(randomCondition(rng, 3))
			fmt.Fprintf(&b, "    condition: %s\n", cond)
		}
	}
	return b.String()
}
