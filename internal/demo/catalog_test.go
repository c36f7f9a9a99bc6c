package demo

import (
	"context"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// demoCatalog is the demo tree read the way ingestion reads it: from the
// root Location, following targets, resolving placeholders, validating each
// document and computing its relations.
type demoCatalog struct {
	entities map[string]*catalog.Entity // by canonical ref
	files    map[string]string          // canonical ref → file
	rows     []catalog.RelationRow
	visited  map[string]bool // files read
}

func loadDemo(tb testing.TB) *demoCatalog {
	tb.Helper()
	src := Files()
	dc := &demoCatalog{entities: map[string]*catalog.Entity{}, files: map[string]string{}, visited: map[string]bool{}}
	read := func(_ context.Context, target string) ([]byte, error) {
		loc, err := catalog.ParseLocationRef(target)
		if err != nil {
			return nil, err
		}
		return fs.ReadFile(src, path.Clean(loc.Target))
	}
	queue := []string{RootFile}
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		if dc.visited[file] {
			tb.Errorf("%s: reached twice", file)
			continue
		}
		dc.visited[file] = true
		data, err := fs.ReadFile(src, file)
		if err != nil {
			tb.Errorf("%s: %v", file, err)
			continue
		}
		docs, err := catalog.ParseDescriptors(file, data, catalog.DefaultLimits())
		if err != nil {
			tb.Errorf("%v", err)
			continue
		}
		base := catalog.LocationRef{Type: "file", Target: file}
		for i := range docs {
			if ps := catalog.ResolvePlaceholders(context.Background(), &docs[i], base, read); len(ps) > 0 {
				tb.Errorf("%v", ps)
				continue
			}
			e, ps := catalog.ValidateDocument(docs[i])
			if len(ps) > 0 {
				tb.Errorf("%v", ps)
				continue
			}
			ref := e.Ref().String()
			if prev, dup := dc.files[ref]; dup {
				tb.Errorf("%s: %s is already defined in %s", file, ref, prev)
			}
			dc.entities[ref] = e
			dc.files[ref] = file
			rows, ps := catalog.Relations(e)
			if len(ps) > 0 {
				tb.Errorf("%v", ps)
			}
			dc.rows = append(dc.rows, rows...)
			if e.Kind == "Location" {
				for _, t := range locationTargets(e) {
					loc, err := catalog.ResolveTarget(base, t)
					if err != nil {
						tb.Errorf("%s: target %q: %v", file, t, err)
						continue
					}
					queue = append(queue, path.Clean(loc.Target))
				}
			}
		}
	}
	return dc
}

func locationTargets(e *catalog.Entity) []string {
	var out []string
	if t, ok := e.Spec["target"].(string); ok {
		out = append(out, t)
	}
	if ts, ok := e.Spec["targets"].([]any); ok {
		for _, t := range ts {
			if s, ok := t.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func (dc *demoCatalog) count(kind string) int {
	n := 0
	for _, e := range dc.entities {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestDemoCatalogIsValid(t *testing.T) {
	dc := loadDemo(t)
	if t.Failed() {
		return
	}

	// Every descriptor in the tree is reached from the root; the other
	// files are API definitions and TechDocs sources.
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		isDef := strings.HasPrefix(p, "apis/") || strings.Contains(p, "/docs/") || path.Base(p) == "mkdocs.yml" ||
			strings.Contains(p, "/skeleton/") // template skeletons, rendered by fetch:template
		if !isDef && !dc.visited[p] {
			t.Errorf("%s: not reached from %s", p, RootFile)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		kind     string
		min, max int
	}{
		{"Domain", 3, 4},
		{"System", 5, 6},
		{"Component", 28, 40},
		{"API", 12, 15},
		{"Resource", 6, 8},
		{"Group", 8, 12},
		{"User", 20, 25},
		{"Location", 1, 1},
		{"Template", 4, 8}, // the four software templates and the integrations' day-2 and golden-path ones
	}
	for _, tt := range tests {
		if got := dc.count(tt.kind); got < tt.min || got > tt.max {
			t.Errorf("%s: got %d entities, want %d to %d", tt.kind, got, tt.min, tt.max)
		}
	}
}

func TestDemoRelationsResolve(t *testing.T) {
	dc := loadDemo(t)
	if t.Failed() {
		return
	}
	if len(dc.rows) < 2*len(dc.entities) {
		t.Errorf("got %d relation rows for %d entities, want a connected catalog", len(dc.rows), len(dc.entities))
	}
	for _, r := range dc.rows {
		for _, ref := range []string{r.Source, r.Target} {
			if _, ok := dc.entities[ref]; !ok {
				t.Errorf("relation %s %s %s: %s is not a demo entity", r.Source, r.Type, r.Target, ref)
			}
		}
	}

	// Every entity that needs an owner, a system, a domain or a group has one
	// that is part of the demo; every group and every user is connected.
	has := map[string]map[string]bool{}
	for _, r := range dc.rows {
		if has[r.Source] == nil {
			has[r.Source] = map[string]bool{}
		}
		has[r.Source][r.Type] = true
	}
	want := map[string][]string{
		"Component": {"ownedBy", "partOf"},
		"API":       {"ownedBy", "partOf", "apiProvidedBy"},
		"Resource":  {"ownedBy", "partOf"},
		"System":    {"ownedBy", "partOf", "hasPart"},
		"Domain":    {"ownedBy", "hasPart"},
		"User":      {"memberOf"},
		"Group":     {"hasMember"},
	}
	refs := make([]string, 0, len(dc.entities))
	for ref := range dc.entities {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		e := dc.entities[ref]
		for _, typ := range want[e.Kind] {
			if e.Kind == "Group" && e.Spec["type"] == "organization" {
				continue // the company itself has business units, not members
			}
			if !has[ref][typ] {
				t.Errorf("%s: no %s relation", ref, typ)
			}
		}
	}
}

func TestDemoAPIDefinitions(t *testing.T) {
	dc := loadDemo(t)
	if t.Failed() {
		return
	}
	types := map[string]int{}
	for ref, e := range dc.entities {
		if e.Kind != "API" {
			continue
		}
		typ, _ := e.Spec["type"].(string)
		types[typ]++
		def, ok := e.Spec["definition"].(string)
		if !ok || len(def) < 50 {
			t.Errorf("%s: definition is not a real document: %v", ref, e.Spec["definition"])
			continue
		}
		if typ == "openapi" && !strings.HasPrefix(def, "openapi: 3.") {
			t.Errorf("%s: openapi definition does not start with 'openapi: 3.': %.40q", ref, def)
		}
	}
	for _, typ := range []string{"openapi", "asyncapi", "graphql", "grpc"} {
		if types[typ] == 0 {
			t.Errorf("no API of type %s", typ)
		}
	}
}

func TestDemoTechDocs(t *testing.T) {
	dc := loadDemo(t)
	if t.Failed() {
		return
	}
	found := 0
	for ref, e := range dc.entities {
		docsRef, ok := e.Metadata.Annotations["backstage.io/techdocs-ref"]
		if !ok {
			continue
		}
		found++
		if docsRef != "dir:." {
			t.Errorf("%s: techdocs-ref %q, want dir:.", ref, docsRef)
			continue
		}
		dir := path.Dir(dc.files[ref])
		for _, f := range []string{"mkdocs.yml", "docs/index.md"} {
			if _, err := fs.Stat(Files(), path.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", ref, err)
			}
		}
	}
	if found == 0 {
		t.Error("no entity has a backstage.io/techdocs-ref annotation")
	}
}
