package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// fileServer serves descriptors from a map that tests may change.
type fileServer struct {
	mu    sync.Mutex
	files map[string]string
}

func (s *fileServer) set(path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = content
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write([]byte(body))
}

// newURLEngine returns an engine allowed to read from a test server.
func newURLEngine(t testing.TB, files map[string]string) (*Engine, *fileServer, string) {
	t.Helper()
	fs := &fileServer{files: files}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	e := newEngine(t, Config{Readers: map[string]Reader{
		"url":  &URLReader{Allow: []AllowedHost{{Host: u.Host}}},
		"file": &FileReader{},
	}})
	return e, fs, srv.URL
}

const apiWithPlaceholder = `apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: ./openapi.yaml
`

func TestAddLocationURL(t *testing.T) {
	ctx := context.Background()
	e, _, base := newURLEngine(t, map[string]string{
		"/repo/catalog-info.yaml": component("orders", "team-a") + "---\n" + apiWithPlaceholder,
		"/repo/openapi.yaml":      "openapi: 3.0.0\n",
	})
	target := base + "/repo/catalog-info.yaml"

	dry, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: target}, true)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	var refs []string
	for _, ent := range dry.Entities {
		refs = append(refs, ent.Ref().String())
	}
	loc := catalog.LocationRef{Type: "url", Target: target}
	want := []string{"component:default/orders", "api:default/orders-api", generatedRef(loc)}
	if strings.Join(refs, " ") != strings.Join(want, " ") || dry.Exists || dry.Location.ID != loc.String() {
		t.Errorf("dry run: got %v exists=%v id=%s, want %v exists=false id=%s", refs, dry.Exists, dry.Location.ID, want, loc)
	}
	absent(t, e, "component:default/orders")

	res, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: target}, false)
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if res.Location.ID == "" || len(res.Entities) != 0 {
		t.Errorf("add: got %+v, want an id and no entities", res)
	}
	orders := mustEntity(t, e, "component:default/orders")
	if got := orders.Metadata.Annotations[catalog.AnnotationManagedByOriginLocation]; got != loc.String() {
		t.Errorf("origin: got %q, want %q", got, loc.String())
	}
	if def := mustEntity(t, e, "api:default/orders-api").Spec["definition"]; def != "openapi: 3.0.0\n" {
		t.Errorf("definition: got %q, want the $text content", def)
	}

	if _, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: target}, false); !fault.Is(err, fault.Conflict) ||
		fault.MessageOf(err) != "Location "+loc.String()+" already exists" {
		t.Errorf("duplicate: got %v, want ConflictError %q", err, "Location "+loc.String()+" already exists")
	}
	dry, err = e.AddLocation(ctx, LocationSpec{Type: "url", Target: target}, true)
	if err != nil || !dry.Exists {
		t.Errorf("dry run of a registered location: got %v exists=%v, want exists", err, dry != nil && dry.Exists)
	}

	got, err := e.LocationByEntity(ctx, "component:default/orders")
	if err != nil || got.ID != res.Location.ID {
		t.Errorf("LocationByEntity: got %+v %v, want %s", got, err, res.Location.ID)
	}
	list, err := e.Locations(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("Locations: got %v %v, want one", list, err)
	}

	if err := e.DeleteLocation(ctx, res.Location.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	absent(t, e, "component:default/orders")
	absent(t, e, "api:default/orders-api")
	absent(t, e, generatedRef(loc))
	if err := e.DeleteLocation(ctx, res.Location.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("delete again: got %v, want NotFoundError", err)
	}
}

func TestAddLocationRefused(t *testing.T) {
	ctx := context.Background()
	e, _, base := newURLEngine(t, map[string]string{"/bad.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n"})
	tests := []struct {
		name string
		spec LocationSpec
		dry  bool
		want string
	}{
		{"type not allowed", LocationSpec{Type: "file", Target: "/etc/passwd"}, false, `Registered locations must be of an allowed type ["url"]`},
		{"not a URL", LocationSpec{Type: "url", Target: "ftp://x"}, false, `location target "ftp://x" is not an absolute http(s) URL`},
		{"empty target", LocationSpec{Type: "url"}, false, "location target must not be empty"},
		{"dry run with errors", LocationSpec{Type: "url", Target: base + "/bad.yaml"}, true, "spec"},
		{"dry run missing", LocationSpec{Type: "url", Target: base + "/none.yaml"}, true, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.AddLocation(ctx, tt.spec, tt.dry)
			if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), tt.want) {
				t.Errorf("got %v, want InputError containing %q", err, tt.want)
			}
		})
	}
}

func TestURLReaderRefusesHostsNotAllowed(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(&fileServer{files: map[string]string{"/c.yaml": component("c", "t")}})
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	tests := []struct {
		allow []AllowedHost
		want  fault.Kind
	}{
		{nil, fault.Forbidden},
		{[]AllowedHost{{Host: "example.com"}}, fault.Forbidden},
		{[]AllowedHost{{Host: u.Host, Paths: []string{"/other/"}}}, fault.Forbidden},
		{[]AllowedHost{{Host: u.Host, Paths: []string{"/c"}}}, ""},
		{[]AllowedHost{{Host: u.Hostname()}}, ""},
	}
	for _, tt := range tests {
		r := &URLReader{Allow: tt.allow}
		_, err := r.Read(ctx, srv.URL+"/c.yaml")
		if got := fault.Kind(""); err != nil {
			got = fault.KindOf(err)
			if got != tt.want {
				t.Errorf("allow %v: got %v, want %q", tt.allow, err, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("allow %v: got no error, want %s", tt.allow, tt.want)
		}
	}
	r := &URLReader{Allow: []AllowedHost{{Host: u.Host}}, MaxBytes: 10}
	if _, err := r.Read(ctx, srv.URL+"/c.yaml"); !fault.Is(err, fault.TooLarge) {
		t.Errorf("over the size limit: got %v, want PayloadTooLargeError", err)
	}
	if _, err := (&URLReader{Allow: []AllowedHost{{Host: u.Host}}}).Read(ctx, srv.URL+"/nope.yaml"); !fault.Is(err, fault.NotFound) {
		t.Errorf("missing: got %v, want NotFoundError", err)
	}
}

func TestRegisteredLocationsComeBackOnRefresh(t *testing.T) {
	ctx := context.Background()
	e, srv, base := newURLEngine(t, map[string]string{"/c.yaml": component("c", "t")})
	if _, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: base + "/c.yaml"}, false); err != nil {
		t.Fatal(err)
	}
	srv.set("/c.yaml", component("c", "t")+"---\n"+component("d", "t"))
	refreshAll(t, e)
	mustEntity(t, e, "component:default/d")
	srv.set("/c.yaml", component("c", "t"))
	if err := e.Refresh(ctx, "component:default/c"); err != nil {
		t.Fatal(err)
	}
	absent(t, e, "component:default/d")
}

func TestRegisterWhileRefreshing(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{}
	for i := range 8 {
		files[fmt.Sprintf("/c%d.yaml", i)] = component(fmt.Sprintf("c%d", i), "t")
	}
	e, _, base := newURLEngine(t, files)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 6 {
			if err := e.RefreshAll(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	for i := range 8 {
		if _, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: fmt.Sprintf("%s/c%d.yaml", base, i)}, false); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i := range 8 {
		mustEntity(t, e, fmt.Sprintf("component:default/c%d", i))
	}
}

func TestDryRunAfterIngestShowsEntities(t *testing.T) {
	ctx := context.Background()
	e, _, base := newURLEngine(t, map[string]string{"/c.yaml": component("c", "t")})
	if _, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: base + "/c.yaml"}, false); err != nil {
		t.Fatal(err)
	}
	refreshAll(t, e) // the file is now remembered
	dry, err := e.AddLocation(ctx, LocationSpec{Type: "url", Target: base + "/c.yaml"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Entities) != 2 || dry.Entities[0].Ref().String() != "component:default/c" || !dry.Exists {
		t.Errorf("dry run: got %d entities exists=%v, want c and its Location, exists", len(dry.Entities), dry.Exists)
	}
}
