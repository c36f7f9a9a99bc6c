package azuresim

import (
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	s := &scope{
		params: map[string]any{"app": "Pay", "n": float64(3), "obj": map[string]any{"k": "v"}},
		vars:   map[string]any{"acct": "payst"},
		group:  &Group{ID: "/subscriptions/s/resourceGroups/rg", Name: "rg", Location: "westeurope"},
		sub:    "s",
	}
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"plain", "plain"},
		{"[[literal]", "[literal]"},
		{"[parameters('app')]", "Pay"},
		{"[parameters('n')]", float64(3)},
		{"[parameters('obj').k]", "v"},
		{"[variables('acct')]", "payst"},
		{"[resourceGroup().location]", "westeurope"},
		{"[subscription().subscriptionId]", "s"},
		{"[concat(parameters('app'), '-', 'it''s')]", "Pay-it's"},
		{"[toLower(concat(parameters('app'), 'DB'))]", "paydb"},
		{"[toUpper( 'x' )]", "X"},
	} {
		got, err := s.eval(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("eval(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	a, _ := s.eval("[uniqueString(resourceGroup().id)]")
	b, _ := s.eval("[uniqueString(resourceGroup().id)]")
	if a != b || len(a.(string)) != 13 {
		t.Errorf("uniqueString = %v, %v", a, b)
	}
	for _, tc := range []struct{ in, want string }{
		{"[parameters('missing')]", `parameter "missing" is not declared`},
		{"[reference('x')]", "reference() is not supported"},
		{"[concat('a']", "ends early"},
		{"['unterminated]", "unterminated string"},
		{"[parameters('app') extra]", "unexpected"},
		{"[app]", "not a function call"},
	} {
		if _, err := s.eval(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("eval(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}
