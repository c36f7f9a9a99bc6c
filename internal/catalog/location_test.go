package catalog

import (
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
)

func TestParseLocationRef(t *testing.T) {
	tests := []struct {
		in   string
		want LocationRef
	}{
		{"url:https://github.com/o/r/blob/main/catalog-info.yaml", LocationRef{"url", "https://github.com/o/r/blob/main/catalog-info.yaml"}},
		{"file:/abs/path.yaml", LocationRef{"file", "/abs/path.yaml"}},
		{" file : ./rel.yaml ", LocationRef{"file", "./rel.yaml"}},
		{"bootstrap:bootstrap", LocationRef{"bootstrap", "bootstrap"}},
		{"gitlab-discovery:https://gitlab.example.com/group:x", LocationRef{"gitlab-discovery", "https://gitlab.example.com/group:x"}},
	}
	for _, tt := range tests {
		got, err := ParseLocationRef(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q: got %v, want %v", tt.in, got, tt.want)
		}
		if back, err := ParseLocationRef(got.String()); err != nil || back != got {
			t.Errorf("%q: round trip got %v, %v", tt.in, back, err)
		}
	}
}

func TestParseLocationRefErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "expected '<type>:<target>'"},
		{"no-colon", "expected '<type>:<target>'"},
		{":target", "one or more parts empty"},
		{"url:", "one or more parts empty"},
		{"url:  ", "one or more parts empty"},
		{"https://example.com/x.yaml", "please prefix it with 'url:'"},
	}
	for _, tt := range tests {
		_, err := ParseLocationRef(tt.in)
		if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an InputError containing %q", tt.in, err, tt.want)
		}
	}
}
