package pluginhost

import (
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
)

const goodIndex = `plugins:
  - id: hello
    description: Greets people.
    maintainer: Platform team
    licence: Apache-2.0
    homepage: https://example.com/hello
    versions:
      - version: 1.0.0
        apiVersions: ">=1.0.0 <2.0.0"
        releasedAt: 2025-01-10
        platforms:
          linux-amd64: { url: hello-1.0.0, sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }
      - version: 2.0.0
        apiVersions: ">=2.0.0"
        releasedAt: 2026-06-01T10:00:00Z
        platforms:
          linux-amd64: { url: hello-2.0.0, sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }
      - version: 1.5.0
        apiVersions: "^1.0"
        releasedAt: 2025-12-01
        platforms:
          linux-arm64: { url: hello-1.5.0-arm, sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }
`

func TestParseIndex(t *testing.T) {
	idx, err := ParseIndex("index.yaml", []byte(goodIndex))
	if err != nil {
		t.Fatal(err)
	}
	e, ok := idx.Plugin("hello")
	if !ok {
		t.Fatal("hello not found")
	}
	var versions []string
	for _, r := range e.Versions {
		versions = append(versions, r.Version)
	}
	if got, want := strings.Join(versions, ","), "2.0.0,1.5.0,1.0.0"; got != want {
		t.Errorf("versions: got %s, want %s (newest first)", got, want)
	}
	if got := e.LatestRelease(); !got.Equal(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("latest release: got %v", got)
	}
	api := semver.MustParse("1.0.0")
	comp := e.Compatible(api, "linux-amd64")
	if len(comp) != 1 || comp[0].Version != "1.0.0" {
		t.Errorf("compatible on linux-amd64: got %v, want only 1.0.0", comp)
	}
	if comp := e.Compatible(api, "linux-arm64"); len(comp) != 1 || comp[0].Version != "1.5.0" {
		t.Errorf("compatible on linux-arm64: got %v, want only 1.5.0", comp)
	}
	r, _ := e.Release("2.0.0")
	err = checkRelease(e, r, api, "linux-amd64")
	want := "hello 2.0.0 supports plugin API >=2.0.0, but this Atrium speaks plugin API 1.0.0; versions that would work: 1.0.0"
	if err == nil || err.Error() != want {
		t.Errorf("incompatible: got %v, want %s", err, want)
	}
	r, _ = e.Release("1.5.0")
	if err := checkRelease(e, r, api, "linux-amd64"); err == nil || !strings.Contains(err.Error(), "hello 1.5.0 has no executable for linux-amd64; versions that would work: 1.0.0") {
		t.Errorf("missing platform: got %v", err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if e.Unmaintained(now, 365*24*time.Hour) {
		t.Error("released in June, flagged unmaintained in December")
	}
	if !e.Unmaintained(now, 90*24*time.Hour) {
		t.Error("not flagged with unmaintainedAfter 90 days")
	}
}

func TestMatrix(t *testing.T) {
	idx, err := ParseIndex("index.yaml", []byte(goodIndex))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := idx.Plugin("hello")
	m := MatrixFor(e, semver.MustParse("1.0.0"), "linux-amd64")
	if got := strings.Join(m.APIVersions, ","); got != "1.0.0,2.0.0" || m.Current != 0 {
		t.Fatalf("columns: got %s (current %d), want 1.0.0,2.0.0 (current 0)", got, m.Current)
	}
	want := map[string]string{"2.0.0": "no yes", "1.5.0": "yes no", "1.0.0": "yes no"}
	for _, row := range m.Rows {
		var cells []string
		for _, ok := range row.Supported {
			cells = append(cells, map[bool]string{true: "yes", false: "no"}[ok])
		}
		if got := strings.Join(cells, " "); got != want[row.Version] {
			t.Errorf("row %s: got %s, want %s", row.Version, got, want[row.Version])
		}
	}
	if m.Rows[1].Platform {
		t.Errorf("1.5.0 has no linux-amd64 build but the matrix says it has")
	}
}

func TestParseIndexErrors(t *testing.T) {
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	release := func(fields string) string {
		return "plugins:\n  - id: hello\n    versions:\n      - " + fields + "\n"
	}
	full := `version: 1.0.0
        apiVersions: ">=1.0.0"
        releasedAt: 2026-01-01
        platforms: { linux-amd64: { url: x, sha256: ` + sum + ` } }`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not yaml", "plugins: [", "index.yaml"},
		{"not an object", "- a\n- b\n", "index.yaml:1: the index must be an object with a plugins list"},
		{"no plugins", "other: 1\n", `index.yaml:1: other: unknown key (known: plugins)`},
		{"plugins not a list", "plugins: {}\n", "index.yaml:1: plugins: must be a list of plugins"},
		{"bad id", "plugins:\n  - id: Hello World\n    versions: []\n", `index.yaml:2: plugins[0].id: "Hello World" is not a plugin id`},
		{"no versions", "plugins:\n  - id: hello\n", "index.yaml:2: plugins[0].versions: is required"},
		{"unknown key", "plugins:\n  - id: hello\n    licnce: MIT\n    versions: []\n", `index.yaml:3: plugins[0].licnce: unknown key`},
		{"bad version", release(strings.Replace(full, "1.0.0\n", "one\n", 1)), `index.yaml:4: plugins[0].versions[0].version: "one" is not a semantic version`},
		{"bad range", release(strings.Replace(full, `">=1.0.0"`, `"=>banana"`, 1)), `index.yaml:5: plugins[0].versions[0].apiVersions: "=>banana" is not a version range`},
		{"bad date", release(strings.Replace(full, "2026-01-01", "yesterday", 1)), `index.yaml:6: plugins[0].versions[0].releasedAt: "yesterday" is not a date`},
		{"bad sha", release(strings.Replace(full, sum, "abc", 1)), `index.yaml:7: plugins[0].versions[0].platforms.linux-amd64.sha256: must be 64 hexadecimal digits, got "abc"`},
		{"bad platform", release(strings.Replace(full, "linux-amd64", "Linux AMD64", 1)), `"Linux AMD64" is not a platform`},
		{"missing url", release(strings.Replace(full, "url: x, ", "", 1)), `platforms.linux-amd64: needs both url and sha256`},
		{"missing platforms", release(strings.Replace(full, "\n        platforms: { linux-amd64: { url: x, sha256: "+sum+" } }", "", 1)), `index.yaml:4: plugins[0].versions[0].platforms: is required`},
		{"duplicate version", "plugins:\n  - id: hello\n    versions:\n      - " + full + "\n      - " + full + "\n", `index.yaml:8: plugins[0].versions[1].version: version 1.0.0 is listed twice`},
		{"duplicate plugin", "plugins:\n  - id: a\n    versions:\n      - " + full + "\n  - id: a\n    versions:\n      - " + full + "\n", `index.yaml:8: plugins[1].id: plugin "a" is listed twice (also at line 2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIndex("index.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseIndexJSON(t *testing.T) {
	doc := `{"plugins": [{"id": "hello", "versions": [{"version": "1.0.0", "apiVersions": "^1", "releasedAt": "2026-01-01",
	  "platforms": {"linux-amd64": {"url": "https://example.com/h", "sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}}}]}]}`
	idx, err := ParseIndex("index.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := idx.Plugins[0].Versions[0].Platforms["linux-amd64"].SHA256; got != "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" {
		t.Errorf("sha256 is not normalised to lower case: %s", got)
	}
}
