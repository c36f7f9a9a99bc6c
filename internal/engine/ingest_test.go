package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// updatedAt returns when ref's record was last written.
func updatedAt(t testing.TB, e *Engine, ref string) string {
	t.Helper()
	s, err := e.store.EntityGetByRef(context.Background(), ref)
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	return s.UpdatedAt.String() + "/" + s.Hash
}

func TestUnchangedInputWritesNothing(t *testing.T) {
	dir := copyTree(t, "testdata/basic")
	e := newEngine(t, Config{BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "catalog-info.yaml"}}})
	refreshAll(t, e)
	before := map[string]string{}
	refs := []string{"component:default/payments", "component:default/web", "location:default/basic", "api:default/payments-api"}
	for _, r := range refs {
		before[r] = updatedAt(t, e, r)
	}
	events, cancel := e.Subscribe(16)
	defer cancel()

	refreshAll(t, e)
	for _, r := range refs {
		if got := updatedAt(t, e, r); got != before[r] {
			t.Errorf("%s after an unchanged pass: got %s, want %s", r, got, before[r])
		}
	}
	select {
	case ev := <-events:
		t.Errorf("unchanged pass published %v %v, want nothing", ev.Kind, ev.Refs)
	default:
	}

	// A changed file rewrites only its entities.
	writeFile(t, filepath.Join(dir, "components", "payments.yaml"), component("payments", "team-web"))
	refreshAll(t, e)
	if got := updatedAt(t, e, "component:default/payments"); got == before["component:default/payments"] {
		t.Errorf("payments was not rewritten after its file changed")
	}
	if got := updatedAt(t, e, "component:default/web"); got != before["component:default/web"] {
		t.Errorf("web was rewritten though its file did not change")
	}
	pay := mustEntity(t, e, "component:default/payments")
	if !hasRelation(pay, "ownedBy", "group:default/team-web") {
		t.Errorf("payments relations: got %v, want ownedBy team-web", pay.Relations)
	}
	ev := <-events
	if ev.Kind != ChangeUpsert || !slices.Contains(ev.Refs, "component:default/payments") {
		t.Errorf("event: got %v %v, want upsert of payments", ev.Kind, ev.Refs)
	}
}

func TestOrphanStrategies(t *testing.T) {
	for _, strategy := range []string{OrphanDelete, OrphanKeep} {
		t.Run(strategy, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "catalog.yaml")
			writeFile(t, file, component("stays", "t")+"---\n"+component("goes", "t"))
			e := newEngine(t, Config{OrphanStrategy: strategy, StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
			refreshAll(t, e)
			mustEntity(t, e, "component:default/goes")

			writeFile(t, file, component("stays", "t"))
			refreshAll(t, e)
			if strategy == OrphanDelete {
				absent(t, e, "component:default/goes")
			} else {
				ent := mustEntity(t, e, "component:default/goes")
				if got := ent.Metadata.Annotations[catalog.AnnotationOrphan]; got != "true" {
					t.Errorf("orphan annotation: got %q, want %q", got, "true")
				}
				// Re-adoption removes the annotation.
				writeFile(t, file, component("stays", "t")+"---\n"+component("goes", "t"))
				refreshAll(t, e)
				ent = mustEntity(t, e, "component:default/goes")
				if got, ok := ent.Metadata.Annotations[catalog.AnnotationOrphan]; ok {
					t.Errorf("orphan annotation after re-adoption: got %q, want none", got)
				}
			}
			if ent := mustEntity(t, e, "component:default/stays"); ent.Metadata.Annotations[catalog.AnnotationOrphan] != "" {
				t.Errorf("stays is marked orphan")
			}
		})
	}
}

func TestOrphanedLocationTakesItsSubtree(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root.yaml")
	writeFile(t, root, "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: sub\nspec:\n  target: ./sub.yaml\n")
	writeFile(t, filepath.Join(dir, "sub.yaml"), component("deep", "t"))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: root}}})
	refreshAll(t, e)
	mustEntity(t, e, "component:default/deep")

	writeFile(t, root, component("other", "t"))
	refreshAll(t, e)
	absent(t, e, "location:default/sub")
	absent(t, e, "component:default/deep")
	mustEntity(t, e, "component:default/other")
}

func TestConflictFirstLocationWins(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writeFile(t, a, strings.Replace(component("dup", "team-a"), "type: service", "type: first", 1))
	writeFile(t, b, strings.Replace(component("dup", "team-b"), "type: service", "type: second", 1))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: a}, {Type: "file", Target: b}}})
	for range 2 {
		refreshAll(t, e)
		ent := mustEntity(t, e, "component:default/dup")
		if got := ent.Spec["type"]; got != "first" {
			t.Errorf("spec.type: got %v, want first", got)
		}
		loser := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: b}))
		msgs := statusMessages(loser)
		want := "ConflictError: detected conflicting entityRef component:default/dup already referenced by file:" + a + " and now also file:" + b
		if !slices.Contains(msgs, want) {
			t.Errorf("loser status: got %q, want %q", msgs, want)
		}
		winner := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: a}))
		if winner.Status != nil {
			t.Errorf("winner status: got %q, want none", statusMessages(winner))
		}
	}

	// When the winner stops emitting it, the other location takes it over.
	writeFile(t, a, component("something-else", "team-a"))
	refreshAll(t, e)
	refreshAll(t, e)
	if got := mustEntity(t, e, "component:default/dup").Spec["type"]; got != "second" {
		t.Errorf("after the winner dropped it: spec.type %v, want second", got)
	}
}

func TestErrorsKeepLastGoodBody(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "svc.yaml")
	writeFile(t, file, component("svc", "team-a"))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
	refreshAll(t, e)

	writeFile(t, file, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\nspec:\n  type: service\n  lifecycle: production\n")
	refreshAll(t, e)
	ent := mustEntity(t, e, "component:default/svc")
	if got := ent.Spec["owner"]; got != "team-a" {
		t.Errorf("spec.owner: got %v, want the last good team-a", got)
	}
	if !hasRelation(ent, "ownedBy", "group:default/team-a") {
		t.Errorf("relations: got %v, want the last good ownedBy", ent.Relations)
	}
	msgs := statusMessages(ent)
	if len(msgs) == 0 || !strings.HasPrefix(msgs[0], "InputError: "+file+":") || !strings.Contains(msgs[0], "spec.owner") {
		t.Fatalf("status: got %q, want an InputError naming %s and spec.owner", msgs, file)
	}
	if it := ent.Status.Items[0]; it.Type != catalog.StatusTypeProcessing || it.Level != "error" || it.Error == nil || it.Error.Name != "InputError" {
		t.Errorf("status item: got %+v, want a catalog-processing error named InputError", it)
	}

	// Fixed again: errors go away.
	writeFile(t, file, component("svc", "team-b"))
	refreshAll(t, e)
	ent = mustEntity(t, e, "component:default/svc")
	if ent.Status != nil || ent.Spec["owner"] != "team-b" {
		t.Errorf("after the fix: status %q owner %v, want none and team-b", statusMessages(ent), ent.Spec["owner"])
	}
}

func TestNewInvalidEntityErrorGoesToLocation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "svc.yaml")
	writeFile(t, file, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad\nspec:\n  type: service\n")
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
	refreshAll(t, e)
	absent(t, e, "component:default/bad")
	loc := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: file}))
	msgs := strings.Join(statusMessages(loc), "\n")
	if !strings.Contains(msgs, file+":") || !strings.Contains(msgs, "spec.lifecycle") {
		t.Errorf("location status: got %q, want the entity's errors with file:line", msgs)
	}
}

func TestHardReadErrorsKeepChildren(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "svc.yaml")
	writeFile(t, file, component("svc", "team-a"))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
	refreshAll(t, e)

	tests := []struct {
		name  string
		write func()
		want  string
	}{
		{"unparseable", func() { writeFile(t, file, "kind: [unclosed\n") }, "InputError: " + file},
		{"missing", func() { os.Remove(file) }, "NotFoundError: " + file + " does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.write()
			refreshAll(t, e)
			mustEntity(t, e, "component:default/svc")
			loc := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: file}))
			msgs := statusMessages(loc)
			if len(msgs) != 1 || !strings.HasPrefix(msgs[0], tt.want) {
				t.Errorf("location status: got %q, want one starting %q", msgs, tt.want)
			}
		})
	}
}

func TestOptionalTargetMissingIsNotAnError(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root.yaml")
	writeFile(t, root, "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: opt\nspec:\n  presence: optional\n  target: ./nothing.yaml\n")
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: root}}})
	refreshAll(t, e)
	if loc := mustEntity(t, e, "location:default/opt"); loc.Status != nil {
		t.Errorf("status: got %q, want none", statusMessages(loc))
	}
}

func TestRulesFromOriginLocation(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	group := "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g%s\nspec:\n  type: team\n  children: []\n"
	writeFile(t, a, strings.ReplaceAll(group, "%s", "a"))
	writeFile(t, b, strings.ReplaceAll(group, "%s", "b"))
	defaults := catalog.DefaultRules()
	groups := catalog.Rules{{Allow: []string{"Group"}}}
	e := newEngine(t, Config{
		Rules:           &defaults,
		StaticLocations: []StaticLocation{{Type: "file", Target: a}, {Type: "file", Target: b, Rules: &groups}},
	})
	refreshAll(t, e)
	absent(t, e, "group:default/ga")
	mustEntity(t, e, "group:default/gb")
	loc := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: a}))
	if msgs := strings.Join(statusMessages(loc), "\n"); !strings.Contains(msgs, "NotAllowedError") || !strings.Contains(msgs, "group:default/ga") {
		t.Errorf("location status: got %q, want a NotAllowedError for group:default/ga", msgs)
	}
}

func TestLimits(t *testing.T) {
	t.Run("entities per location", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "many.yaml")
		writeFile(t, file, component("c1", "t")+"---\n"+component("c2", "t"))
		e := newEngine(t, Config{Limits: Limits{MaxEntitiesPerLocation: 3}, StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
		refreshAll(t, e)
		writeFile(t, file, component("c1", "t")+"---\n"+component("c2", "t")+"---\n"+component("c3", "t")+"---\n"+component("c4", "t"))
		refreshAll(t, e)
		absent(t, e, "component:default/c4")
		mustEntity(t, e, "component:default/c1")
		mustEntity(t, e, "component:default/c2")
		loc := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: file}))
		if msgs := strings.Join(statusMessages(loc), "\n"); !strings.Contains(msgs, "more than 3 entities") {
			t.Errorf("location status: got %q, want the limit named", msgs)
		}
	})
	t.Run("entity size", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "big.yaml")
		big := strings.Replace(component("big", "t"), "metadata:\n", "metadata:\n  description: "+strings.Repeat("x", 2000)+"\n", 1)
		writeFile(t, file, big+"---\n"+component("small", "t"))
		e := newEngine(t, Config{Limits: Limits{MaxEntityBytes: 1000}, StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
		refreshAll(t, e)
		absent(t, e, "component:default/big")
		mustEntity(t, e, "component:default/small")
		loc := mustEntity(t, e, generatedRef(catalog.LocationRef{Type: "file", Target: file}))
		if msgs := strings.Join(statusMessages(loc), "\n"); !strings.Contains(msgs, "PayloadTooLargeError") || !strings.Contains(msgs, "over the limit of 1000 bytes") {
			t.Errorf("location status: got %q, want the size limit named", msgs)
		}
	})
	t.Run("location depth", func(t *testing.T) {
		dir := t.TempDir()
		loc := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: l%d\nspec:\n  target: ./l%d.yaml\n"
		for i := range 4 {
			writeFile(t, filepath.Join(dir, "l"+string(rune('0'+i))+".yaml"),
				strings.NewReplacer("%d", string(rune('0'+i))).Replace(loc[:strings.Index(loc, "spec")])+"spec:\n  target: ./l"+string(rune('1'+i))+".yaml\n")
		}
		writeFile(t, filepath.Join(dir, "l4.yaml"), component("leaf", "t"))
		e := newEngine(t, Config{Limits: Limits{MaxLocationDepth: 3}, StaticLocations: []StaticLocation{{Type: "file", Target: filepath.Join(dir, "l0.yaml")}}})
		refreshAll(t, e)
		absent(t, e, "component:default/leaf")
		l2 := mustEntity(t, e, "location:default/l2")
		if msgs := strings.Join(statusMessages(l2), "\n"); !strings.Contains(msgs, "more than 3 Location entities deep") {
			t.Errorf("l2 status: got %q, want the depth limit named", msgs)
		}
	})
}

func TestLocationCycleIsSafe(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: a\nspec:\n  target: ./b.yaml\n")
	writeFile(t, filepath.Join(dir, "b.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: b\nspec:\n  targets: [./a.yaml, ./c.yaml]\n")
	writeFile(t, filepath.Join(dir, "c.yaml"), component("c", "t"))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: filepath.Join(dir, "a.yaml")}}})
	refreshAll(t, e)
	refreshAll(t, e)
	mustEntity(t, e, "component:default/c")
	mustEntity(t, e, "location:default/b")
}

func TestUnchangedFilesAreReused(t *testing.T) {
	ctx := context.Background()
	dir := copyTree(t, "testdata/basic")
	e := newEngine(t, Config{BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "catalog-info.yaml"}}})
	refreshAll(t, e)
	// catalog-info.yaml holds a Location and payments-api.yaml a
	// placeholder: they are always processed; the other three are reused.
	first := e.Stats()
	refreshAll(t, e)
	got := e.Stats()
	if parsed, reused := got.FilesParsed-first.FilesParsed, got.FilesReused-first.FilesReused; parsed != 2 || reused != 3 {
		t.Errorf("second pass: parsed %d reused %d, want 2 and 3", parsed, reused)
	}

	// The store disagrees with what was remembered: the file is processed
	// again and the entity comes back.
	web := mustEntity(t, e, "component:default/web")
	if err := e.DeleteByUID(ctx, web.Metadata.UID); err != nil {
		t.Fatal(err)
	}
	absent(t, e, "component:default/web")
	refreshAll(t, e)
	mustEntity(t, e, "component:default/web")
	mustEntity(t, e, "component:default/web-admin")
	if ent := mustEntity(t, e, "component:default/web"); !hasRelation(ent, "dependsOn", "component:default/payments") {
		t.Errorf("web after recreation: relations %v, want dependsOn payments", ent.Relations)
	}

	// Orphan marking changes the stored hash; re-adoption rewrites.
	e2 := newEngine(t, Config{OrphanStrategy: OrphanKeep, BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "catalog-info.yaml"}}})
	refreshAll(t, e2)
	refreshAll(t, e2)
	web2 := filepath.Join(dir, "components", "web.yaml")
	content, err := os.ReadFile(web2)
	if err != nil {
		t.Fatal(err)
	}
	os.Rename(web2, web2+".off")
	refreshAll(t, e2)
	if got := mustEntity(t, e2, "component:default/web").Metadata.Annotations[catalog.AnnotationOrphan]; got != "true" {
		t.Fatalf("orphan annotation: got %q, want true", got)
	}
	writeFile(t, web2, string(content))
	refreshAll(t, e2)
	if got, ok := mustEntity(t, e2, "component:default/web").Metadata.Annotations[catalog.AnnotationOrphan]; ok {
		t.Errorf("orphan annotation after re-adoption: got %q, want none", got)
	}
}
