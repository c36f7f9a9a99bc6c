package authz

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// BenchmarkByQuery measures what authorization adds to a by-query page
// (kind=component, ordered by name, 20 items, with the total count) over a
// synthetic SQLite catalog of ATRIUM_BENCH_ENTITIES entities (default
// 100000). The database is kept under ATRIUM_BENCH_DIR when set, so that
// later runs skip loading it.
func BenchmarkByQuery(b *testing.B) {
	n := 100_000
	if s := os.Getenv("ATRIUM_BENCH_ENTITIES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	ctx := context.Background()
	dir := os.Getenv("ATRIUM_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, "authz-bench-"+strconv.Itoa(n)+".db")
	_, statErr := os.Stat(path)
	db, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if statErr != nil {
		storetest.LoadTimed(b, db, n)
	}
	eng, err := engine.New(engine.Config{Store: db, ProcessingInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()

	jane := &auth.Principal{Type: auth.PrincipalUser, Ref: "user:default/jane",
		OwnershipRefs: []string{"user:default/jane", "group:default/team-0001"}}
	cases := []struct {
		name   string
		policy string // "" : no authorization at all; "default": the default policy
	}{
		{"no authorization", ""},
		{"default policy (allow)", "default"},
		{"deny rule on a tag", "rules:\n  - name: all\n    effect: allow\n    permissions: ['*']\n  - name: hide\n    effect: deny\n    permissions: [catalog.entity.read]\n    condition: '\"payments\" in resource.tags && !(\"group:default/security\" in principal.ownershipRefs)'\n"},
		{"owners only", "rules:\n  - name: own\n    effect: allow\n    permissions: [catalog.entity.read]\n    condition: resource.owner in principal.ownershipRefs || resource.spec.lifecycle == \"production\"\n"},
	}
	q := engine.Query{
		Filter:     catalog.In("kind", "component"),
		Order:      &store.Order{Field: "metadata.name"},
		Limit:      20,
		CountTotal: true,
	}
	for _, c := range cases {
		var cat engine.Catalog = eng
		if c.policy != "" {
			p := Params{}
			if c.policy != "default" {
				f := filepath.Join(b.TempDir(), "policy.yaml")
				if err := os.WriteFile(f, []byte(c.policy), 0o600); err != nil {
					b.Fatal(err)
				}
				p.Files = []string{f}
			}
			a, err := New(p)
			if err != nil {
				b.Fatal(err)
			}
			cat = Catalog(eng, a)
		}
		pctx := auth.WithPrincipal(ctx, jane)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := cat.Entities(pctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}
