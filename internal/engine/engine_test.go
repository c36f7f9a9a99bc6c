package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
)

func TestStaticLocationRelativeTargetAndGlobs(t *testing.T) {
	dir := copyTree(t, "testdata/basic")
	e := newEngine(t, Config{
		BaseDir:         dir,
		StaticLocations: []StaticLocation{{Type: "file", Target: "./catalog-info.yaml"}},
	})
	refreshAll(t, e)

	for _, ref := range []string{
		"component:default/payments", "component:default/web", "component:default/web-admin",
		"group:default/team-billing", "group:default/team-web", "user:default/ada", "api:default/payments-api",
		"location:default/basic",
	} {
		mustEntity(t, e, ref)
	}

	pay := mustEntity(t, e, "component:default/payments")
	wantLoc := "file:" + filepath.Join(dir, "components", "payments.yaml")
	if got := pay.Metadata.Annotations[catalog.AnnotationManagedByLocation]; got != wantLoc {
		t.Errorf("managed-by-location: got %q, want %q", got, wantLoc)
	}
	if got := pay.Metadata.Annotations[catalog.AnnotationManagedByOriginLocation]; got != OriginBootstrap {
		t.Errorf("managed-by-origin-location: got %q, want %q", got, OriginBootstrap)
	}
	if pay.Metadata.UID == "" || pay.Metadata.Etag == "" {
		t.Errorf("uid %q etag %q: want both set", pay.Metadata.UID, pay.Metadata.Etag)
	}
	if pay.Status != nil {
		t.Errorf("status: got %v, want none", statusMessages(pay))
	}

	tests := []struct {
		ref, typ, target string
	}{
		{"component:default/payments", "ownedBy", "group:default/team-billing"},
		{"group:default/team-billing", "ownerOf", "component:default/payments"},
		{"component:default/web", "dependsOn", "component:default/payments"},
		{"component:default/payments", "dependencyOf", "component:default/web"},
		{"component:default/payments", "providesApi", "api:default/payments-api"},
		{"api:default/payments-api", "apiProvidedBy", "component:default/payments"},
		{"api:default/payments-api", "apiConsumedBy", "component:default/web"},
		{"component:default/web-admin", "partOf", "component:default/web"},
		{"component:default/web", "hasPart", "component:default/web-admin"},
		{"user:default/ada", "memberOf", "group:default/team-billing"},
		{"group:default/team-billing", "hasMember", "user:default/ada"},
	}
	for _, tt := range tests {
		ent := mustEntity(t, e, tt.ref)
		if !hasRelation(ent, tt.typ, tt.target) {
			t.Errorf("%s relations: got %v, want %s %s", tt.ref, ent.Relations, tt.typ, tt.target)
		}
	}

	api := mustEntity(t, e, "api:default/payments-api")
	def, _ := api.Spec["definition"].(string)
	if !strings.Contains(def, "title: Payments") {
		t.Errorf("api definition: got %q, want the $text content", def)
	}

	// The generated Location of the static location is the root.
	anc, err := e.Ancestry(context.Background(), "component:default/web-admin")
	if err != nil {
		t.Fatal(err)
	}
	var chain []string
	for _, it := range anc.Items {
		chain = append(chain, it.Entity.Ref().String())
	}
	wantRoot := generatedRef(catalog.LocationRef{Type: "file", Target: filepath.Join(dir, "catalog-info.yaml")})
	want := []string{"component:default/web-admin", "location:default/basic", wantRoot}
	if strings.Join(chain, " ") != strings.Join(want, " ") {
		t.Errorf("ancestry: got %v, want %v", chain, want)
	}
	if got := anc.Items[len(anc.Items)-1].ParentEntityRefs; len(got) != 0 {
		t.Errorf("root parents: got %v, want none", got)
	}
}

func TestStaticLocationGlobTarget(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cat", "a", "one.yaml"), component("one", "team-a"))
	writeFile(t, filepath.Join(dir, "cat", "a", "b", "two.yaml"), component("two", "team-a"))
	writeFile(t, filepath.Join(dir, "cat", "three.yml"), component("three", "team-a"))
	writeFile(t, filepath.Join(dir, "cat", "notes.txt"), "not yaml")
	e := newEngine(t, Config{BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "cat/**/*.yaml"}}})
	refreshAll(t, e)
	mustEntity(t, e, "component:default/one")
	mustEntity(t, e, "component:default/two")
	absent(t, e, "component:default/three")
}
