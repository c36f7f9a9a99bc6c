package authz

import (
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/auth"
)

func testPrincipal() *auth.Principal {
	return &auth.Principal{
		Type:          auth.PrincipalUser,
		Ref:           "user:default/Jane",
		OwnershipRefs: []string{"user:default/jane", "group:default/Team-A", "group:default/platform"},
		Claims:        map[string]any{"email": "jane@example.com", "team": "Payments", "level": int64(3)},
	}
}

func TestTranslate(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cond string
		want string
	}{
		{`resource.kind == "component"`, `kind in (component)`},
		{`"Component" == resource.kind`, `kind in (component)`},
		{`resource.kind != "group"`, `not(kind in (group))`},
		{`resource.namespace == "default" && resource.name.startsWith("svc-")`, `metadata.namespace in (default) and metadata.name startsWith svc-`},
		{`resource.owner in principal.ownershipRefs`, `relations.ownedby in (user:default/jane, group:default/team-a, group:default/platform)`},
		{`resource.owner == principal.ref`, `relations.ownedby in (user:default/jane)`},
		{`resource.owner in principal.groups`, `relations.ownedby in (group:default/team-a, group:default/platform)`},
		{`"secret" in resource.tags`, `metadata.tags in (secret)`},
		{`!("secret" in resource.tags)`, `not(metadata.tags in (secret))`},
		{`resource.tags.exists(t, t.startsWith("team-") || t == "core")`, `metadata.tags startsWith team- or metadata.tags in (core)`},
		{`resource.labels["tier"] == "gold"`, `metadata.labels.tier in (gold)`},
		{`resource.labels.tier == "gold"`, `metadata.labels.tier in (gold)`},
		{`"tier" in resource.labels`, `metadata.labels.tier exists`},
		{`has(resource.annotations.owner)`, `metadata.annotations.owner exists`},
		{`has(resource.owner)`, `relations.ownedby exists`},
		{`resource.annotations["backstage.io/techdocs-ref"] == "dir:."`, `metadata.annotations.backstage.io/techdocs-ref in (dir:.)`},
		{`resource.spec.type == "service" || resource.spec.lifecycle in ["production", "beta"]`, `spec.type in (service) or spec.lifecycle in (production, beta)`},
		{`resource.spec.profile.email == principal.claims.email`, `spec.profile.email in (jane@example.com)`},
		{`resource.spec["type"] == principal.claims.team`, `spec.type in (payments)`},
		{`resource.spec.type in principal.claims.missing`, `false`},
		{`principal.claims.missing == "x" || resource.kind == "api"`, `kind in (api)`},
		{`!(principal.claims.missing == "x") && resource.kind == "api"`, `false`},
		{`principal.claims.level > 2 && resource.kind == "api"`, `kind in (api)`},
		{`principal.claims.level > 5 && resource.kind == "api"`, `false`},
		{`principal.claims.level > 5 || !(resource.kind == "api")`, `not(kind in (api))`},
		{`"group:default/platform" in principal.ownershipRefs`, `true`},
		{`principal.groups.exists(g, g.endsWith("/security"))`, `false`},
		{`"x" in resource.spec.tags`, `spec.tags.x exists`},
	}
	p := testPrincipal()
	act := activation(p)
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			n, err := compileCondition(env, tt.cond, true)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, _ := n.filters(act)
			if s := FilterString(got); s != tt.want {
				t.Errorf("got %v, want %v", s, tt.want)
			}
		})
	}
}

func TestTranslateRejects(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cond string
		want string // part of the error
	}{
		{`resource.name.endsWith("-prod")`, "1:23: endsWith() over resource attributes cannot become a catalog filter"},
		{`resource.name.contains("x")`, "cannot become a catalog filter"},
		{`resource.kind == resource.name`, "compare a resource attribute with a value that does not depend on resource"},
		{`resource.color == "red"`, `resource has no attribute "color"`},
		{`principal.email == "x"`, `principal has no attribute "email"`},
		{`resource.tags.all(t, t == "a")`, "only exists() over a resource list"},
		{`resource.tags.exists(t, t.endsWith("a"))`, "inside exists()"},
		{`resource.kind ==`, "1:17: Syntax error"},
		{`resource.labels[principal.ref] == "x"`, "index resource attributes with a literal string"},
		{`"a" in resource.kind`, "is a single value"},
		{`size(resource.tags) > 2`, "cannot become a catalog filter"},
		{`resource.kind`, "this use of resource cannot become a catalog filter"},
		{`1 + 2`, "condition must be a boolean"},
		{strings.Repeat("a", maxConditionBytes+1), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			_, err := compileCondition(env, tt.cond, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTranslateNoResource(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	_, err = compileCondition(env, `resource.kind == "api"`, false)
	if err == nil || !strings.Contains(err.Error(), "may not use resource") {
		t.Errorf("got %v, want an error saying the condition may not use resource", err)
	}
	if _, err := compileCondition(env, `principal.type == "user"`, false); err != nil {
		t.Errorf("got %v, want no error", err)
	}
}
