package authz

import (
	"context"
	"testing"
)

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(goodPolicy))
	f.Add([]byte(badPolicy))
	f.Add(DefaultPolicy())
	f.Add([]byte("rules:\n  - name: x\n    effect: deny\n    permissions: ['*']\n    condition: '\"a\" in resource.tags'\n"))
	f.Add([]byte("roles: {a: b}\nbindings: 3\n"))
	env, err := newEnv()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pol, err := ParsePolicy("fuzz.yaml", data)
		if err != nil {
			return
		}
		c, err := compile(env, []*Policy{pol}, nil)
		if err != nil {
			return
		}
		a := &Authorizer{env: env, params: Params{Audit: discardAudit}}
		a.cur.Store(c)
		for _, p := range Permissions {
			if _, err := a.Authorize(context.Background(), testPrincipal(), p.Name, &Resource{Entity: tableEntities["mine"]}); err != nil {
				t.Fatalf("Authorize(%s): %v", p.Name, err)
			}
		}
	})
}

func FuzzCondition(f *testing.F) {
	for _, a := range conditionAtoms {
		f.Add(a)
	}
	f.Add(`resource.tags.exists(t, t.startsWith("a") || t in principal.groups) && !has(resource.owner)`)
	env, err := newEnv()
	if err != nil {
		f.Fatal(err)
	}
	act := activation(testPrincipal())
	entity := indexEntity(tableEntities["secret"])
	f.Fuzz(func(t *testing.T, src string) {
		n, err := compileCondition(env, src, true)
		if err != nil {
			return
		}
		tf, ff := n.filters(act)
		// A condition is never both true and false for one entity.
		if entity.match(tf) && entity.match(ff) {
			t.Fatalf("%q is both true (%s) and false (%s)", src, FilterString(tf), FilterString(ff))
		}
	})
}
