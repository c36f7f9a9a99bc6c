package catalog

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// process runs the domain pipeline over a descriptor file and returns every
// problem as "file:line: field: message".
func process(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := ParseDescriptors(filepath.Base(path), data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		e, ps := ValidateDocument(d)
		if e != nil {
			_, rps := Relations(e)
			ps = append(ps, d.Locate(rps)...)
		}
		for _, p := range ps {
			out = append(out, p.String())
		}
	}
	return out
}

func TestGoldenValid(t *testing.T) {
	if got := process(t, "testdata/valid.yaml"); len(got) > 0 {
		t.Errorf("got problems:\n%s", strings.Join(got, "\n"))
	}
}

func TestGoldenInvalid(t *testing.T) {
	got := strings.Join(process(t, "testdata/invalid.yaml"), "\n") + "\n"
	golden := "testdata/invalid.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenInvalid -update)", err)
	}
	if got != string(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
