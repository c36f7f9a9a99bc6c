package authz

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
)

// newTestAuthorizer loads policy (YAML text; "" for the default policy).
func newTestAuthorizer(t testing.TB, policy string, admins ...string) *Authorizer {
	t.Helper()
	p := Params{Admins: admins, Audit: discardAudit}
	if policy != "" {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
		p.Files = []string{path}
	}
	a, err := New(p)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func user(ref string, groups ...string) *auth.Principal {
	return &auth.Principal{Type: auth.PrincipalUser, Ref: ref, OwnershipRefs: append([]string{ref}, groups...), Via: "session"}
}

func service(ref string) *auth.Principal {
	return &auth.Principal{Type: auth.PrincipalService, Ref: ref, OwnershipRefs: []string{ref}, Via: "static"}
}

// component builds a stitched Component entity.
func component(name, owner, lifecycle string, tags ...string) *catalog.Entity {
	e := &catalog.Entity{
		APIVersion: "backstage.io/v1alpha1", Kind: "Component",
		Metadata: catalog.Metadata{Name: name, Namespace: "default", Tags: tags},
		Spec:     map[string]any{"type": "service", "lifecycle": lifecycle, "owner": owner},
	}
	ref, err := catalog.ParseRef(owner, catalog.RefDefaults{Kind: "Group"})
	if err == nil {
		e.Relations = []catalog.Relation{{Type: catalog.RelationOwnedBy, TargetRef: ref.String()}}
	}
	return e
}
