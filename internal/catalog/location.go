package catalog

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// LocationRef is a location reference, "type:target" (backstage.md §1.4):
// "url:https://host/org/repo/blob/main/catalog-info.yaml", "file:/abs/x.yaml".
type LocationRef struct {
	Type   string `json:"type"`
	Target string `json:"target"`
}

// ParseLocationRef parses "type:target", splitting on the first colon so the
// target may hold colons. Both parts are trimmed and must not be empty; a
// bare http(s) URL is refused with a hint to prefix it with "url:".
func ParseLocationRef(s string) (LocationRef, error) {
	typ, target, found := strings.Cut(s, ":")
	if !found {
		return LocationRef{}, fault.New(fault.Invalid, "unable to parse location ref %q, expected '<type>:<target>', e.g. 'url:https://host/path'", s)
	}
	typ, target = strings.TrimSpace(typ), strings.TrimSpace(target)
	if typ == "" || target == "" {
		return LocationRef{}, fault.New(fault.Invalid, "unable to parse location ref %q, one or more parts empty", s)
	}
	if typ == "http" || typ == "https" {
		return LocationRef{}, fault.New(fault.Invalid, "invalid location ref %q, please prefix it with 'url:', e.g. 'url:%s'", s, s)
	}
	return LocationRef{Type: typ, Target: target}, nil
}

// String returns the reference as "type:target".
func (l LocationRef) String() string { return l.Type + ":" + l.Target }
