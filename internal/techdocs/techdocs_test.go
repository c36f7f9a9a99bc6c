package techdocs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/demo"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

type fakeCatalog struct {
	engine.Catalog
	mu    sync.Mutex
	byRef map[string]*catalog.Entity
}

func (f *fakeCatalog) EntityByRef(_ context.Context, ref string) (*catalog.Entity, error) {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "bad ref")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.byRef[r.String()]
	if e == nil {
		return nil, fault.New(fault.NotFound, "no %s", ref)
	}
	return e, nil
}

// EntitiesByRefs answers like the catalog: nil where a ref is unknown.
func (f *fakeCatalog) EntitiesByRefs(_ context.Context, refs []string, _ *catalog.Filter) ([]*catalog.Entity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*catalog.Entity, len(refs))
	for i, ref := range refs {
		out[i] = f.byRef[ref]
	}
	return out, nil
}

// entity registers a component whose descriptor is descriptor (a file path)
// with the given techdocs-ref, registered through origin.
func (f *fakeCatalog) entity(name, descriptor, origin, docsRef string) string {
	e := &catalog.Entity{Kind: "Component", Metadata: catalog.Metadata{
		Name: name, Namespace: "default", Etag: "e1",
		Annotations: map[string]string{
			Annotation:                                docsRef,
			catalog.AnnotationManagedByLocation:       "file:" + descriptor,
			catalog.AnnotationManagedByOriginLocation: "file:" + origin,
		},
	}}
	f.mu.Lock()
	f.byRef[e.Ref().String()] = e
	f.mu.Unlock()
	return e.Ref().String()
}

func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func newService(tb testing.TB, lim Limits) (*Service, *fakeCatalog) {
	tb.Helper()
	f := &fakeCatalog{byRef: map[string]*catalog.Entity{}}
	return New(Params{Catalog: f, Limits: lim, Logger: slog.New(slog.DiscardHandler)}), f
}

func TestDemoSite(t *testing.T) {
	dir := t.TempDir()
	if err := demo.Write(dir); err != nil {
		t.Fatal(err)
	}
	svc, f := newService(t, Limits{})
	ref := f.entity("tracking-service", filepath.Join(dir, "components/tracking-service/catalog-info.yaml"), filepath.Join(dir, demo.RootFile), "dir:.")
	site, err := svc.Site(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if site.Name != "Tracking service" {
		t.Errorf("got site name %q, want %q", site.Name, "Tracking service")
	}
	var nav []string
	for _, n := range site.Nav {
		nav = append(nav, n.Title+"="+n.URL)
	}
	want := "Overview=/docs/default/component/tracking-service/,Runbook=/docs/default/component/tracking-service/runbook/"
	if got := strings.Join(nav, ","); got != want {
		t.Errorf("got nav %v, want %v", got, want)
	}
	rb := site.Page("runbook/")
	if rb == nil || rb.Title != "Runbook" {
		t.Fatalf("got runbook page %+v, want one titled Runbook", rb)
	}
	if len(rb.Headings) < 2 || rb.Headings[1].ID == "" {
		t.Errorf("got headings %+v, want ids for the table of contents", rb.Headings)
	}
	hits := site.Search("consumer lag", 10)
	if len(hits) == 0 || hits[0].URL != rb.URL {
		t.Errorf("got hits %+v, want the runbook first", hits)
	}
	if hits, err := svc.Search(context.Background(), "partitio", 10); err != nil || len(hits) != 1 || !strings.Contains(hits[0].Snippet, "partition") {
		t.Errorf("got global hits %+v, want one prefix match with a snippet", hits)
	}
}

func TestHostileDocs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"repo/catalog-info.yaml": "x",
		"repo/docs/index.md": "# Home\n\n<script>alert(1)</script>\n\n[js](javascript:alert(2)) [up](../../../etc/passwd) " +
			"[guide](guide/setup.md#step-2) [raw](<https://example.com>)\n\n![diagram](img/arch.png) <img src=x onerror=alert(3)>\n",
		"repo/docs/guide/setup.md": "# Setup\n\n## Step 2\n\n[back](../index.md) ![a](../img/arch.png)\n",
		"repo/docs/img/arch.png":   "\x89PNG fake",
		"secret.txt":               "top secret",
	})
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(dir, "repo/docs/leak.txt")); err != nil {
		t.Fatal(err)
	}
	svc, f := newService(t, Limits{})
	ref := f.entity("repo", filepath.Join(dir, "repo/catalog-info.yaml"), filepath.Join(dir, "repo/catalog-info.yaml"), "dir:.")
	site, err := svc.Site(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	home := string(site.Page("").HTML)
	for _, bad := range []string{"<script", "javascript:", "onerror", "/etc/passwd"} {
		if strings.Contains(home, bad) {
			t.Errorf("got %q in %s", bad, home)
		}
	}
	for _, want := range []string{
		`href="/docs/default/component/repo/guide/setup/#step-2"`,
		`src="/docs/default/component/repo/img/arch.png"`,
	} {
		if !strings.Contains(home, want) {
			t.Errorf("got %s, want %s", home, want)
		}
	}
	setup := string(site.Page("guide/setup").HTML)
	for _, want := range []string{`href="/docs/default/component/repo/"`, `src="/docs/default/component/repo/img/arch.png"`} {
		if !strings.Contains(setup, want) {
			t.Errorf("got %s, want %s", setup, want)
		}
	}
	tests := []struct {
		path string
		ok   bool
	}{
		{"img/arch.png", true},
		{"../catalog-info.yaml", false},
		{"../../secret.txt", false},
		{"leak.txt", false},
		{"index.md", false},
		{"img/../img/arch.png", true},
	}
	for _, tt := range tests {
		a, err := site.Asset(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("Asset(%q): got error %v, want ok=%v", tt.path, err, tt.ok)
		}
		if a != nil {
			b, _ := io.ReadAll(a.Body)
			a.Body.Close()
			if a.ContentType != "image/png" || string(b) != "\x89PNG fake" {
				t.Errorf("Asset(%q): got %s %q", tt.path, a.ContentType, b)
			}
		}
	}
}

func TestSourceOutsideLocation(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a/catalog-info.yaml": "x", "b/docs/index.md": "# B", "a/mkdocs.yml": "docs_dir: ../b/docs\n"})
	svc, f := newService(t, Limits{})
	tests := []struct {
		name, ref string
		kind      fault.Kind
	}{
		{"climbs out", "dir:../b", fault.Forbidden},
		{"absolute", "dir:" + filepath.Join(dir, "b"), fault.Invalid},
		{"url", "url:https://example.com/docs", fault.NotImplemented},
		{"docs_dir climbs out", "dir:.", fault.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := f.entity("a", filepath.Join(dir, "a/catalog-info.yaml"), filepath.Join(dir, "a/catalog-info.yaml"), tt.ref)
			_, err := svc.Site(context.Background(), ref)
			if !fault.Is(err, tt.kind) {
				t.Errorf("got %v, want a %s error", err, tt.kind)
			}
		})
	}
}

func TestSiteCacheAndRebuild(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"catalog-info.yaml": "x", "docs/index.md": "# One\n\nalpha\n"})
	svc, f := newService(t, Limits{})
	ref := f.entity("c", filepath.Join(dir, "catalog-info.yaml"), filepath.Join(dir, "catalog-info.yaml"), "dir:.")
	ctx := context.Background()

	var wg sync.WaitGroup
	sites := make([]*Site, 8)
	for i := range sites {
		wg.Go(func() {
			s, err := svc.Site(ctx, ref)
			if err != nil {
				t.Error(err)
			}
			sites[i] = s
		})
	}
	wg.Wait()
	for _, s := range sites[1:] {
		if s != sites[0] {
			t.Fatalf("got several builds for concurrent first requests, want one")
		}
	}
	again, _ := svc.Site(ctx, ref)
	if again != sites[0] {
		t.Errorf("got a rebuild without a change")
	}

	writeFiles(t, dir, map[string]string{"docs/index.md": "# Two\n\nbeta gamma\n"})
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "docs/index.md"), later, later); err != nil {
		t.Fatal(err)
	}
	changed, err := svc.Site(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if changed == sites[0] || changed.Page("").Title != "Two" {
		t.Errorf("got title %q, want the rebuilt site", changed.Page("").Title)
	}

	svc.Follow(ctx, closedWith(engine.ChangeEvent{Kind: engine.ChangeUpsert, Refs: []string{ref}}))
	svc.mu.Lock()
	_, cached := svc.sites[ref]
	svc.mu.Unlock()
	if cached {
		t.Errorf("got the site still cached after a change event")
	}
}

func closedWith(evs ...engine.ChangeEvent) <-chan engine.ChangeEvent {
	ch := make(chan engine.ChangeEvent, len(evs))
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	return ch
}

func TestLimits(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"catalog-info.yaml": "x", "docs/index.md": "# A", "docs/b.md": "# B", "docs/c.md": strings.Repeat("c", 2000),
	})
	ctx := context.Background()

	svc, f := newService(t, Limits{MaxFiles: 2})
	ref := f.entity("l", filepath.Join(dir, "catalog-info.yaml"), filepath.Join(dir, "catalog-info.yaml"), "dir:.")
	if _, err := svc.Site(ctx, ref); !fault.Is(err, fault.TooLarge) || !strings.Contains(err.Error(), "more than 2 files") {
		t.Errorf("got %v, want a TooLarge error naming the file limit", err)
	}

	svc, f = newService(t, Limits{MaxFileBytes: 1000})
	ref = f.entity("l", filepath.Join(dir, "catalog-info.yaml"), filepath.Join(dir, "catalog-info.yaml"), "dir:.")
	site, err := svc.Site(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if site.Page("c") != nil || len(site.Problems) != 1 || !strings.Contains(site.Problems[0], "c.md is 2000 bytes") {
		t.Errorf("got problems %v, want c.md skipped as too large", site.Problems)
	}
}

func TestMkdocsNav(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"catalog-info.yaml": "x",
		"mkdocs.yml": "site_name: Guide\ndocs_dir: src\nnav:\n  - index.md\n  - Setup:\n    - Install: setup/install.md\n    - setup/configure.md\n" +
			"  - Source: https://git.example.com/repo\n  - Gone: missing.md\n",
		"src/index.md":           "# Welcome",
		"src/setup/install.md":   "# Installing",
		"src/setup/configure.md": "# Configuring",
	})
	svc, f := newService(t, Limits{})
	ref := f.entity("n", filepath.Join(dir, "catalog-info.yaml"), filepath.Join(dir, "catalog-info.yaml"), "dir:.")
	site, err := svc.Site(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(items []NavItem, prefix string)
	walk = func(items []NavItem, prefix string) {
		for _, it := range items {
			got = append(got, prefix+it.Title+"="+it.URL)
			walk(it.Children, prefix+"  ")
		}
	}
	walk(site.Nav, "")
	want := "Welcome=/docs/default/component/n/|Setup=|  Install=/docs/default/component/n/setup/install/|  Configuring=/docs/default/component/n/setup/configure/|Source=https://git.example.com/repo"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("got nav %v, want %v", g, want)
	}
	if len(site.Problems) != 1 || !strings.Contains(site.Problems[0], "missing.md") {
		t.Errorf("got problems %v, want the missing nav page reported", site.Problems)
	}
}

func TestTreeNav(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"catalog-info.yaml": "x", "docs/README.md": "# Start", "docs/zeta.md": "# Zeta",
		"docs/ops/index.md": "# Operations", "docs/ops/alerts.md": "# Alerts", "docs/api/auth.md": "no heading",
	})
	svc, f := newService(t, Limits{})
	ref := f.entity("t", filepath.Join(dir, "catalog-info.yaml"), filepath.Join(dir, "catalog-info.yaml"), "dir:.")
	site, err := svc.Site(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range site.Nav {
		s := it.Title
		for _, c := range it.Children {
			s += "/" + c.Title
		}
		got = append(got, s)
	}
	if g, w := strings.Join(got, ","), "Start,Zeta,Api/Auth,Ops/Operations/Alerts"; g != w {
		t.Errorf("got nav %v, want %v", g, w)
	}
}
