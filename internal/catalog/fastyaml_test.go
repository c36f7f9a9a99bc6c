package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// slowYAML parses data with yaml.v3 the way ParseDescriptors would, returning
// the non-empty documents' roots.
func slowYAML(data []byte) (roots []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return roots, nil
		}
		if err != nil {
			return nil, err
		}
		root := &n
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
			continue
		}
		roots = append(roots, root)
	}
}

// sameNodes describes the first difference between two node trees, or "".
func sameNodes(path string, a, b *yaml.Node) string {
	switch {
	case a.Kind != b.Kind:
		return fmt.Sprintf("%s: kind %v, want %v", path, a.Kind, b.Kind)
	case a.Value != b.Value:
		return fmt.Sprintf("%s: value %q, want %q", path, a.Value, b.Value)
	case a.ShortTag() != b.ShortTag():
		return fmt.Sprintf("%s: tag %v, want %v", path, a.ShortTag(), b.ShortTag())
	case a.Line != b.Line:
		return fmt.Sprintf("%s (%q): line %v, want %v", path, a.Value, a.Line, b.Line)
	case len(a.Content) != len(b.Content):
		return fmt.Sprintf("%s: %d children, want %d", path, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if d := sameNodes(fmt.Sprintf("%s/%d", path, i), a.Content[i], b.Content[i]); d != "" {
			return d
		}
	}
	return ""
}

// checkFastYAML fails when the fast parser accepts data and yaml.v3 reads
// it differently.
func checkFastYAML(t *testing.T, data []byte) (accepted bool) {
	t.Helper()
	fast, ok := fastYAML(data)
	if !ok {
		return false
	}
	slow, err := slowYAML(data)
	if err != nil {
		t.Fatalf("fast parser accepted what yaml.v3 refuses (%v):\n%s", err, data)
	}
	if len(fast) != len(slow) {
		t.Fatalf("got %d documents, yaml.v3 %d:\n%s", len(fast), len(slow), data)
	}
	for i := range fast {
		if d := sameNodes(fmt.Sprint(i), fast[i], slow[i]); d != "" {
			t.Fatalf("%s\n%s", d, data)
		}
	}
	return true
}

func TestFastYAMLAgreesWithYAMLv3(t *testing.T) {
	accepted := []string{
		typicalDescriptor,
		"a: 1\n",
		"a:\n  b: c\n  d:\n    - e\n    - f: g\n      h: i\n",
		"a:\n- x\n- y\nb: z\n",
		"list:\n  - \n  -\n  - x\n",
		"a: [x, 'y z', \"w\", resource:db, 1, true]\nb: []\nc: {}\nd: [ ]\n",
		"a: 'it''s'\nb: \"# not a comment\"\nc: plain # comment\nd: a#b\n",
		"# head\n\n---\na: 1 # c\n---\n# empty\n---\nb: 2\n",
		"a: |\n  line 1\n\n  line 3\n\nb: |-\n  x\n  y\nc: |+\n  keep\n\nd: x\n",
		"- x\n",
		"a: |\n  x\n",
		"steps:\n  - id: fetch\n    input:\n      url: ./skeleton\n      values: {}\n  - id: publish\n",
		"a: 0123\nb: 0x1F\nc: .5\nd: -1\ne: ~\nf: null\ng: True\nh: 2024-01-02\ni: 1e3\n",
		"unicode: Ünïcödé ✓ 日本\n",
		"k: v\n  # indented comment\nl: w\n",
	}
	for _, s := range accepted {
		if !checkFastYAML(t, []byte(s)) && s != "- x\n" {
			t.Errorf("fast parser gave up on:\n%s", s)
		}
	}
	fallback := []string{
		"a: &x 1\nb: *x\n",
		"a: !!str 1\n",
		"a: {b: c}\n",
		"a: >\n  folded\n",
		"a: \"esc\\n\"\n",
		"a: multi\n  line\n",
		"a:\tb\n",
		"a: b\r\n",
		"\"quoted key\": 1\n",
		"a: b: c\n",
		"? complex\n: key\n",
		"%YAML 1.2\n---\na: 1\n",
		"--- a: 1\n",
		"a: 1\n...\n",
		"a: [b, [c]]\n",
		"a: [b,]\n",
		"a: |2\n   x\n",
		"a: |\n    deeper\n  less\n",
		"a:\n  b: 1\n c: 2\n",
		"- - a\n",
		"  a: 1\n",
		"a: - b\n",
	}
	for _, s := range fallback {
		if _, ok := fastYAML([]byte(s)); ok {
			t.Errorf("fast parser accepted:\n%s", s)
		}
	}
}

// TestFastYAMLOnRepositoryDescriptors runs the differential check on every
// YAML file in the repository: real descriptors, configs and templates.
func TestFastYAMLOnRepositoryDescriptors(t *testing.T) {
	root := filepath.Join("..", "..")
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == ".atrium") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checkFastYAML(t, data)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checked %d files", n)
}

func FuzzFastYAML(f *testing.F) {
	for _, seed := range []string{
		typicalDescriptor,
		"a:\n  b: c\n  d:\n    - e\n    - f: g\n      h: i\n",
		"a:\n- x\n- y\nb: z\n",
		"a: [x, 'y z', \"w\", resource:db]\nb: []\nc: {}\n",
		"a: |\n  line 1\n\n  line 3\n\nb: |-\n  x\nc: |+\n  keep\n\nd: x\n",
		"# c\n---\na: 1 # c\n---\nb: 'it''s'\n",
		"list:\n  - \n  -\n  - x\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastYAML(t, data)
	})
}

// TestFastYAMLRandomDocuments builds many documents from the pieces the fast
// parser knows, with indentation, spacing and comments varied at random, and
// checks each against yaml.v3.
var randomFiles = 20000

func TestFastYAMLRandomDocuments(t *testing.T) {
	rng := newRand(1)
	good := []string{"x", "Payments Service", "0123", "1e3", "-1", "true", "~", "null", "a#b", "'q'", "'it''s'", `"d q"`, `"# h"`, "resource:db", "https://x.io/a?b=c", "é ✓", "a'b", `a"b`, "[a, b]", "[]", "{}", "[ 'x' , \"y\" ]", "[a b, c:d]", "-x", "x #c", "x  # c", "|", "|-", "|+", "x,y", "0o17", "0b1", "1_000", ".inf", "2001-12-14"}
	weird := []string{"- x", "x: y", "x:", ":x", "--x", "?x", "[a,]", "[a", "'x' y", "\"x\"#", ">", "&a x", "*a", "!t x", "@x", "`x`", "%x", "{a: b}"}
	scalars := good
	goodKeys := []string{"a", "b", "spec", "backstage.io/techdocs-ref", "$text", "1", "true", "a.b", "A", "a-", "on", "null"}
	keys := append(goodKeys, "-a", "a b")
	var gen func(b *strings.Builder, indent, depth int)
	pad := func(n int) string { return strings.Repeat(" ", n) }
	gen = func(b *strings.Builder, indent, depth int) {
		seq := rng.intn(3) == 0
		n := 1 + rng.intn(4)
		for range n {
			if rng.intn(6) == 0 {
				b.WriteString(pad(rng.intn(indent+3)) + []string{"", "# c", "  "}[rng.intn(3)] + "\n")
			}
			ind := indent
			if rng.intn(40) == 0 {
				ind += []int{-1, 1}[rng.intn(2)]
				if ind < 0 {
					ind = 0
				}
			}
			lead := pad(ind)
			if seq {
				lead += "-" + pad(1+rng.intn(2))
			} else {
				k := goodKeys[rng.intn(len(goodKeys))]
				if rng.intn(30) == 0 {
					k = keys[rng.intn(len(keys))]
				}
				lead += k + ":" + pad(1+rng.intn(2))
			}
			switch r := rng.intn(10); {
			case r < 5 || depth > 3:
				v := scalars[rng.intn(len(scalars))]
				if rng.intn(20) == 0 {
					v = weird[rng.intn(len(weird))]
				}
				if strings.HasPrefix(v, "|") {
					b.WriteString(lead + v + "\n")
					ci := ind + 1 + rng.intn(3)
					for range rng.intn(4) {
						if rng.intn(3) == 0 {
							b.WriteString(pad(rng.intn(ci+2)) + "\n")
						} else {
							b.WriteString(pad(ci+rng.intn(2)) + "text #" + "\n")
						}
					}
					continue
				}
				b.WriteString(lead + v + "\n")
			case r < 7 && !seq && rng.intn(2) == 0:
				b.WriteString(strings.TrimRight(lead, " ") + "\n")
				gen(b, ind, depth+1) // a sequence or mapping at the same indentation
			default:
				b.WriteString(strings.TrimRight(lead, " ") + []string{"", " # c"}[rng.intn(2)] + "\n")
				gen(b, ind+1+rng.intn(3), depth+1)
			}
		}
	}
	accepted := 0
	for range randomFiles {
		var b strings.Builder
		docs := 1 + rng.intn(3)
		for d := range docs {
			if d > 0 {
				b.WriteString("---\n")
			}
			gen(&b, 0, 0)
		}
		if checkFastYAML(t, []byte(b.String())) {
			accepted++
		}
	}
	t.Logf("fast parser accepted %d of %d random files", accepted, randomFiles)
	if accepted < 1000 {
		t.Errorf("got %d accepted files, want the generator to exercise the fast parser more", accepted)
	}
}

// rand is a tiny deterministic generator (xorshift), so the test needs no
// seed management.
type rand struct{ s uint64 }

func newRand(seed uint64) *rand { return &rand{s: seed*0x9E3779B97F4A7C15 + 1} }

func (r *rand) intn(n int) int {
	r.s ^= r.s << 13
	r.s ^= r.s >> 7
	r.s ^= r.s << 17
	return int(r.s % uint64(n))
}
