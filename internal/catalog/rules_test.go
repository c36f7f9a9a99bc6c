package catalog

import (
	"strings"
	"testing"
)

func TestRulesAllows(t *testing.T) {
	gitlab := LocationRef{Type: "url", Target: "https://gitlab.example.com/org/repo/-/blob/main/catalog-info.yaml"}
	local := LocationRef{Type: "file", Target: "/srv/catalog/templates/go.yaml"}
	rules, err := NewRules([]Rule{
		{Allow: []string{"Group", "User"}},
		{Allow: []string{"Template"}, Locations: []RuleLocation{{Type: "file", Pattern: "/srv/catalog/templates/**/*.yaml"}}},
		{Allow: []string{"Resource"}, Locations: []RuleLocation{{Type: "url", Exact: gitlab.Target}}},
		{Allow: []string{"System"}, Locations: []RuleLocation{{Type: "url"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		rules  Rules
		kind   string
		origin LocationRef
		want   bool
	}{
		{"default component", DefaultRules(), "Component", gitlab, true},
		{"default is case-insensitive", DefaultRules(), "api", gitlab, true},
		{"default location", DefaultRules(), "Location", local, true},
		{"default refuses group", DefaultRules(), "Group", gitlab, false},
		{"empty refuses all", Rules{}, "Component", gitlab, false},
		{"anywhere", rules, "user", local, true},
		{"pattern match", rules, "Template", local, true},
		{"pattern other dir", rules, "Template", LocationRef{Type: "file", Target: "/srv/other/go.yaml"}, false},
		{"pattern other type", rules, "Template", LocationRef{Type: "url", Target: local.Target}, false},
		{"exact match", rules, "Resource", gitlab, true},
		{"exact mismatch", rules, "Resource", LocationRef{Type: "url", Target: gitlab.Target + "x"}, false},
		{"type only", rules, "System", gitlab, true},
		{"type only mismatch", rules, "System", local, false},
		{"unlisted kind", rules, "Component", gitlab, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rules.Allows(tt.kind, tt.origin); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRulesErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"no kinds", []Rule{{}}, "rules[0].allow must list at least one kind"},
		{"bad kind", []Rule{{Allow: []string{"Component"}}, {Allow: []string{"my-kind"}}}, `rules[1].allow[0]: "my-kind" is not a valid kind`},
		{"exact and pattern", []Rule{{Allow: []string{"A"}, Locations: []RuleLocation{{Type: "url", Exact: "x", Pattern: "y"}}}}, "rules[0].locations[0] sets both exact and pattern"},
		{"no type", []Rule{{Allow: []string{"A"}, Locations: []RuleLocation{{Exact: "x"}}}}, "rules[0].locations[0].type is required"},
		{"bad pattern", []Rule{{Allow: []string{"A"}, Locations: []RuleLocation{{Type: "file", Pattern: "[a"}}}}, "is not a valid glob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRules(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, target string
		want            bool
	}{
		{"/a/*.yaml", "/a/b.yaml", true},
		{"/a/*.yaml", "/a/b/c.yaml", false},
		{"/a/**/*.yaml", "/a/c.yaml", true},
		{"/a/**/*.yaml", "/a/b/c/d.yaml", true},
		{"/a/**", "/a/b/c", true},
		{"/a/**", "/b/c", false},
		{"/A/?.YAML", "/a/b.yaml", true},
		{"/a/.*", "/a/.hidden", true},
		{"https://github.com/org/**", "https://github.com/org/repo/blob/main/x.yaml", true},
		{"https://github.com/org/*", "https://github.com/other/repo", false},
	}
	for _, tt := range tests {
		if got := MatchGlob(tt.pattern, tt.target); got != tt.want {
			t.Errorf("MatchGlob(%q, %q): got %v, want %v", tt.pattern, tt.target, got, tt.want)
		}
	}
}
