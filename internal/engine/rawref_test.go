package engine

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
)

func TestIsCanonicalRef(t *testing.T) {
	for _, s := range []string{
		"component:default/svc", "Component:default/svc", "component:Default/svc", "component:default/Svc",
		"svc", "default/svc", "component:svc", "component:default/a:b", "api:ns/x/y", "component:défault/svc",
		"component:dÉfault/svc",
	} {
		r, err := catalog.ParseRef(s, catalog.RefDefaults{Kind: "component"})
		if err != nil {
			continue
		}
		if got, want := isCanonicalRef(s, r), s == r.String(); got != want {
			t.Errorf("isCanonicalRef(%q) got %v, want %v", s, got, want)
		}
	}
}
