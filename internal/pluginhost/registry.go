package pluginhost

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"
)

// Index is a plugin registry's index: the plugins it offers and, for each,
// its releases with checksums and the plugin-API versions they support.
// It is a YAML or JSON document (docs/plugins.md, "Installing plugins,
// registry, health"):
//
//	plugins:
//	  - id: hello
//	    description: Greets people.
//	    maintainer: Platform team <platform@example.com>
//	    licence: Apache-2.0
//	    homepage: https://example.com/hello
//	    versions:
//	      - version: 1.2.0
//	        apiVersions: ">=1.0.0 <2.0.0"
//	        releasedAt: 2026-11-01
//	        platforms:
//	          linux-amd64: { url: hello-1.2.0-linux-amd64, sha256: 9f86d0… }
type Index struct {
	// Source is the file or URL the index was read from; relative
	// artifact URLs resolve against it.
	Source  string  `json:"source"`
	Plugins []Entry `json:"plugins"`
}

// Entry is one plugin of an index.
type Entry struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Maintainer  string `json:"maintainer,omitempty"`
	Licence     string `json:"licence,omitempty"`
	Homepage    string `json:"homepage,omitempty"`
	// Versions are sorted newest first.
	Versions []Release `json:"versions"`
}

// Release is one version of a plugin.
type Release struct {
	Version     string              `json:"version"`
	APIVersions string              `json:"apiVersions"`
	ReleasedAt  time.Time           `json:"releasedAt"`
	Platforms   map[string]Artifact `json:"platforms"`

	version    *semver.Version
	constraint *semver.Constraints
}

// Artifact is a plugin executable for one platform ("linux-amd64").
type Artifact struct {
	// URL is https://…, or a path relative to the index.
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// Plugin returns the entry with the given id.
func (x *Index) Plugin(id string) (*Entry, bool) {
	for i := range x.Plugins {
		if x.Plugins[i].ID == id {
			return &x.Plugins[i], true
		}
	}
	return nil, false
}

// Release returns the entry's release with the given version.
func (e *Entry) Release(version string) (*Release, bool) {
	v, err := semver.NewVersion(version)
	if err != nil {
		return nil, false
	}
	for i := range e.Versions {
		if e.Versions[i].version.Equal(v) {
			return &e.Versions[i], true
		}
	}
	return nil, false
}

// Supports reports whether the release supports plugin-API version api.
func (r *Release) Supports(api *semver.Version) bool {
	return r.constraint != nil && r.constraint.Check(api)
}

// ParseError lists every problem found in an index, each with its place.
type ParseError struct {
	Source   string
	Problems []string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("plugin index %s is not valid:\n  %s", e.Source, strings.Join(e.Problems, "\n  "))
}

var (
	idPattern       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	platformPattern = regexp.MustCompile(`^[a-z0-9]+-[a-z0-9]+$`)
)

// maxIndexNodes bounds the YAML nodes of an index (alias bombs).
const maxIndexNodes = 500_000

// ParseIndex parses an index document; source names it in errors.
func ParseIndex(source string, data []byte) (*Index, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{Source: source, Problems: []string{strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	p := &indexParser{source: source}
	if countNodes(&doc, maxIndexNodes) < 0 {
		return nil, &ParseError{Source: source, Problems: []string{"the document is too large or uses too many aliases"}}
	}
	idx := &Index{Source: source}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.fail(root, "", "the index must be an object with a plugins list")
		return nil, p.err()
	}
	p.fields(root, "", map[string]func(*yaml.Node, string){
		"plugins": func(n *yaml.Node, path string) {
			if n.Kind != yaml.SequenceNode {
				p.fail(n, path, "must be a list of plugins")
				return
			}
			seen := map[string]int{}
			for i, item := range n.Content {
				e := p.entry(item, fmt.Sprintf("%s[%d]", path, i))
				if e.ID != "" {
					if prev, dup := seen[e.ID]; dup {
						p.fail(item, fmt.Sprintf("%s[%d].id", path, i), "plugin %q is listed twice (also at line %d)", e.ID, prev)
					}
					seen[e.ID] = item.Line
				}
				idx.Plugins = append(idx.Plugins, e)
			}
		},
	})
	if _, ok := mapValue(root, "plugins"); !ok {
		p.fail(root, "plugins", "is required")
	}
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	sort.Slice(idx.Plugins, func(i, j int) bool { return idx.Plugins[i].ID < idx.Plugins[j].ID })
	return idx, nil
}

type indexParser struct {
	source   string
	problems []string
}

func (p *indexParser) fail(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s", p.source, n.Line, msg))
}

func (p *indexParser) err() error { return &ParseError{Source: p.source, Problems: p.problems} }

// fields walks a mapping: known keys go to their handler; unknown keys are
// problems (a typo would otherwise silently drop a checksum).
func (p *indexParser) fields(n *yaml.Node, path string, handlers map[string]func(*yaml.Node, string)) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, "must be an object")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := k.Value
		if path != "" {
			kp = path + "." + k.Value
		}
		h, ok := handlers[k.Value]
		if !ok {
			known := make([]string, 0, len(handlers))
			for name := range handlers {
				known = append(known, name)
			}
			sort.Strings(known)
			p.fail(k, kp, "unknown key (known: %s)", strings.Join(known, ", "))
			continue
		}
		h(v, kp)
	}
}

func (p *indexParser) str(n *yaml.Node, path string, out *string) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, path, "must be a string")
		return
	}
	*out = strings.TrimSpace(n.Value)
}

func (p *indexParser) entry(n *yaml.Node, path string) Entry {
	var e Entry
	p.fields(n, path, map[string]func(*yaml.Node, string){
		"id": func(v *yaml.Node, kp string) {
			p.str(v, kp, &e.ID)
			if e.ID != "" && !idPattern.MatchString(e.ID) {
				p.fail(v, kp, "%q is not a plugin id (lower-case letters, digits and dashes, starting with a letter)", e.ID)
			}
		},
		"description": func(v *yaml.Node, kp string) { p.str(v, kp, &e.Description) },
		"maintainer":  func(v *yaml.Node, kp string) { p.str(v, kp, &e.Maintainer) },
		"licence":     func(v *yaml.Node, kp string) { p.str(v, kp, &e.Licence) },
		"license":     func(v *yaml.Node, kp string) { p.str(v, kp, &e.Licence) },
		"homepage":    func(v *yaml.Node, kp string) { p.str(v, kp, &e.Homepage) },
		"versions": func(v *yaml.Node, kp string) {
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				p.fail(v, kp, "must be a non-empty list of releases")
				return
			}
			seen := map[string]bool{}
			for i, item := range v.Content {
				ip := fmt.Sprintf("%s[%d]", kp, i)
				r, ok := p.release(item, ip)
				if !ok {
					continue
				}
				if seen[r.version.String()] {
					p.fail(item, ip+".version", "version %s is listed twice", r.Version)
					continue
				}
				seen[r.version.String()] = true
				e.Versions = append(e.Versions, r)
			}
		},
	})
	if n.Kind == yaml.MappingNode {
		for _, k := range []string{"id", "versions"} {
			if _, ok := mapValue(n, k); !ok {
				p.fail(n, path+"."+k, "is required")
			}
		}
	}
	sort.Slice(e.Versions, func(i, j int) bool { return e.Versions[i].version.GreaterThan(e.Versions[j].version) })
	return e
}

func (p *indexParser) release(n *yaml.Node, path string) (Release, bool) {
	var r Release
	before := len(p.problems)
	p.fields(n, path, map[string]func(*yaml.Node, string){
		"version": func(v *yaml.Node, kp string) {
			p.str(v, kp, &r.Version)
			sv, err := semver.StrictNewVersion(strings.TrimPrefix(r.Version, "v"))
			if err != nil {
				p.fail(v, kp, "%q is not a semantic version such as 1.2.0", r.Version)
				return
			}
			r.version = sv
		},
		"apiVersions": func(v *yaml.Node, kp string) {
			p.str(v, kp, &r.APIVersions)
			c, err := semver.NewConstraint(r.APIVersions)
			if err != nil {
				p.fail(v, kp, "%q is not a version range such as \">=1.0.0 <2.0.0\": %v", r.APIVersions, err)
				return
			}
			r.constraint = c
		},
		"releasedAt": func(v *yaml.Node, kp string) {
			var s string
			p.str(v, kp, &s)
			t, err := parseDate(s)
			if err != nil {
				p.fail(v, kp, "%q is not a date such as 2026-11-01 or 2026-11-01T10:00:00Z", s)
				return
			}
			r.ReleasedAt = t
		},
		"platforms": func(v *yaml.Node, kp string) {
			if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				p.fail(v, kp, "must be an object of platforms such as linux-amd64")
				return
			}
			r.Platforms = map[string]Artifact{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, av := v.Content[i], v.Content[i+1]
				pp := kp + "." + k.Value
				if !platformPattern.MatchString(k.Value) {
					p.fail(k, pp, "%q is not a platform such as linux-amd64", k.Value)
					continue
				}
				var a Artifact
				p.fields(av, pp, map[string]func(*yaml.Node, string){
					"url": func(v *yaml.Node, kp string) { p.str(v, kp, &a.URL) },
					"sha256": func(v *yaml.Node, kp string) {
						p.str(v, kp, &a.SHA256)
						a.SHA256 = strings.ToLower(a.SHA256)
						if b, err := hex.DecodeString(a.SHA256); err != nil || len(b) != 32 {
							p.fail(v, kp, "must be 64 hexadecimal digits, got %q", a.SHA256)
						}
					},
				})
				if a.URL == "" || a.SHA256 == "" {
					p.fail(av, pp, "needs both url and sha256")
				}
				r.Platforms[k.Value] = a
			}
		},
	})
	if n.Kind == yaml.MappingNode {
		for _, k := range []string{"version", "apiVersions", "releasedAt", "platforms"} {
			if _, ok := mapValue(n, k); !ok {
				p.fail(n, path+"."+k, "is required")
			}
		}
	}
	return r, len(p.problems) == before
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

func mapValue(n *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1], true
		}
	}
	return nil, false
}

// countNodes returns budget minus the nodes under n, following aliases;
// negative means over budget.
func countNodes(n *yaml.Node, budget int) int {
	budget--
	if budget < 0 {
		return budget
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return countNodes(n.Alias, budget)
	}
	for _, c := range n.Content {
		if budget = countNodes(c, budget); budget < 0 {
			return budget
		}
	}
	return budget
}
