package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// hashDir returns one hash over every file's path and content in dir.
func hashDir(tb testing.TB, dir string) string {
	tb.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(filepath.ToSlash(rel) + "\x00"))
		h.Write(b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func generate(tb testing.TB, n int, seed int64) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "catalog")
	if err := Generate(dir, n, seed); err != nil {
		tb.Fatalf("Generate(%d, %d): %v", n, seed, err)
	}
	return dir
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := hashDir(t, generate(t, 2000, 42))
	b := hashDir(t, generate(t, 2000, 42))
	if a != b {
		t.Errorf("same seed: got hashes %s and %s, want equal", a, b)
	}
	c := hashDir(t, generate(t, 2000, 43))
	if a == c {
		t.Errorf("different seeds: got equal hashes %s, want different", a)
	}
}

func TestNewRejectsBadSizes(t *testing.T) {
	tests := []struct {
		n    int
		opts Options
	}{
		{n: 0},
		{n: 19},
		{n: MaxEntities + 1},
		{n: 100, opts: Options{PerFile: -1}},
	}
	for _, tt := range tests {
		if _, err := New(tt.n, 1, tt.opts); err == nil {
			t.Errorf("New(%d, %+v): got nil error, want one", tt.n, tt.opts)
		}
	}
}

func TestWriteDirRefusesNonEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Generate(dir, 100, 1); err == nil {
		t.Error("Generate into a non-empty folder: got nil error, want one")
	}
}

// descriptor is the part of a generated document the test reads back.
type descriptor struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string   `yaml:"name"`
		Tags []string `yaml:"tags"`
	} `yaml:"metadata"`
	Spec map[string]any `yaml:"spec"`
}

var (
	nameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	tagRE  = regexp.MustCompile(`^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`)
)

// readBack parses every file the root Location names, independently of the
// generator's model, and returns the documents by canonical ref.
func readBack(tb testing.TB, dir string) (root descriptor, docs map[string]descriptor) {
	tb.Helper()
	decodeAll := func(p string) []descriptor {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		var out []descriptor
		for {
			var d descriptor
			if err := dec.Decode(&d); err != nil {
				if errors.Is(err, io.EOF) {
					return out
				}
				tb.Fatalf("%s: %v", p, err)
			}
			out = append(out, d)
		}
	}
	roots := decodeAll(filepath.Join(dir, RootFile))
	if len(roots) != 1 || roots[0].Kind != "Location" {
		tb.Fatalf("root file: got %d documents, want one Location", len(roots))
	}
	root = roots[0]
	docs = map[string]descriptor{}
	targets, _ := root.Spec["targets"].([]any)
	for _, t := range targets {
		for _, d := range decodeAll(filepath.Join(dir, filepath.FromSlash(t.(string)))) {
			ref := strings.ToLower(d.Kind) + ":default/" + strings.ToLower(d.Metadata.Name)
			if _, dup := docs[ref]; dup {
				tb.Errorf("%s: generated twice", ref)
			}
			docs[ref] = d
		}
	}
	return root, docs
}

// fullRef completes a reference written in a descriptor.
func fullRef(s, defaultKind string) string {
	if !strings.Contains(s, ":") {
		s = defaultKind + ":" + s
	}
	kind, rest, _ := strings.Cut(s, ":")
	if !strings.Contains(rest, "/") {
		rest = "default/" + rest
	}
	return strings.ToLower(kind + ":" + rest)
}

func TestGeneratedFilesAreValidAndConnected(t *testing.T) {
	const n = 5000
	dir := generate(t, n, 7)
	_, docs := readBack(t, dir)
	if len(docs) != n {
		t.Fatalf("got %d documents, want %d", len(docs), n)
	}

	type rel struct{ src, typ, dst string }
	rels := map[rel]bool{}
	add := func(src, typ, dst, inv string) {
		if _, ok := docs[dst]; !ok {
			t.Errorf("%s: %s target %s does not exist", src, typ, dst)
		}
		rels[rel{src, typ, dst}] = true
		rels[rel{dst, inv, src}] = true
	}
	kinds := map[string]int{}
	for ref, d := range docs {
		kinds[d.Kind]++
		if d.APIVersion != "backstage.io/v1alpha1" {
			t.Errorf("%s: apiVersion %q", ref, d.APIVersion)
		}
		if !nameRE.MatchString(d.Metadata.Name) || len(d.Metadata.Name) > 63 {
			t.Errorf("%s: invalid name %q", ref, d.Metadata.Name)
		}
		for _, tag := range d.Metadata.Tags {
			if !tagRE.MatchString(tag) {
				t.Errorf("%s: invalid tag %q", ref, tag)
			}
		}
		str := func(k string) string { s, _ := d.Spec[k].(string); return s }
		list := func(k string) []string {
			var out []string
			for _, v := range d.Spec[k].([]any) {
				out = append(out, v.(string))
			}
			return out
		}
		if o := str("owner"); o != "" {
			add(ref, "ownedBy", fullRef(o, "group"), "ownerOf")
		}
		if s := str("system"); s != "" {
			add(ref, "partOf", fullRef(s, "system"), "hasPart")
		}
		if s := str("domain"); s != "" {
			add(ref, "partOf", fullRef(s, "domain"), "hasPart")
		}
		if s := str("parent"); s != "" {
			add(ref, "childOf", fullRef(s, "group"), "parentOf")
		}
		for k, v := range map[string][3]string{
			"children":     {"group", "parentOf", "childOf"},
			"memberOf":     {"group", "memberOf", "hasMember"},
			"providesApis": {"api", "providesApi", "apiProvidedBy"},
			"consumesApis": {"api", "consumesApi", "apiConsumedBy"},
			"dependsOn":    {"", "dependsOn", "dependencyOf"},
		} {
			if _, ok := d.Spec[k]; !ok {
				continue
			}
			for _, r := range list(k) {
				if v[0] == "" && !strings.Contains(r, ":") {
					t.Errorf("%s: %s entry %q has no kind", ref, k, r)
				}
				add(ref, v[1], fullRef(r, v[0]), v[2])
			}
		}
		switch d.Kind {
		case "Component", "API":
			if str("type") == "" || str("lifecycle") == "" || str("owner") == "" {
				t.Errorf("%s: missing type, lifecycle or owner", ref)
			}
		case "Group":
			if _, ok := d.Spec["children"]; !ok || str("type") == "" {
				t.Errorf("%s: group without type or children", ref)
			}
		case "User":
			if _, ok := d.Spec["memberOf"]; !ok {
				t.Errorf("%s: user without memberOf", ref)
			}
		}
	}
	for _, k := range []string{"Group", "User", "Domain", "System", "Component", "API", "Resource"} {
		if kinds[k] == 0 {
			t.Errorf("no %s generated", k)
		}
	}

	perEntity := float64(len(rels)) / n
	if perEntity < 4.5 || perEntity > 6.5 {
		t.Errorf("got %.2f relations per entity, want about 5", perEntity)
	}

	// The model the harness checks against must agree with the files.
	s, err := New(n, 7, Options{})
	if err != nil {
		t.Fatal(err)
	}
	model := s.Relations()
	if len(model) != len(rels) {
		t.Errorf("model has %d relations, files have %d", len(model), len(rels))
	}
	for _, r := range model {
		if !rels[rel{r.Source, r.Type, r.Target}] {
			t.Errorf("model relation %v is not in the files", r)
		}
	}
}

func TestSetSummaries(t *testing.T) {
	s, err := New(1000, 3, Options{PerFile: 50})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range s.CountByKind() {
		total += c
	}
	if total != s.N+1 {
		t.Errorf("CountByKind total: got %d, want %d (entities plus the root Location)", total, s.N+1)
	}
	if got, want := len(s.Files), s.N/50; got < want {
		t.Errorf("files: got %d, want at least %d", got, want)
	}
	sources := s.SourcesByRelationType()
	if got := sources["ownedby"]; got == 0 {
		t.Errorf("entities with ownedBy: got %d, want > 0", got)
	}
	teams := s.Teams()
	if len(teams) == 0 {
		t.Fatal("no teams")
	}
	byRef := s.RelationsOf(teams[:1])
	rs := byRef[teams[0]]
	if len(rs) == 0 {
		t.Fatalf("team %s has no relations", teams[0])
	}
	if !sort.SliceIsSorted(rs, func(i, j int) bool {
		return rs[i].Type < rs[j].Type || rs[i].Type == rs[j].Type && rs[i].Target < rs[j].Target
	}) {
		t.Errorf("relations of %s are not sorted: %v", teams[0], rs)
	}
	var childOf bool
	for _, r := range rs {
		childOf = childOf || r.Type == "childOf"
	}
	if !childOf {
		t.Errorf("team %s: got %v, want a childOf relation", teams[0], rs)
	}
}
