package ui

import (
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/internal/store"
)

// lowerAll returns ss lowercased, as filter values must be.
func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// nameOrder sorts by metadata.name ascending.
func nameOrder() *store.Order { return &store.Order{Field: "metadata.name"} }

// ownedHref is the catalog list of everything owned through refs.
func ownedHref(refs []string) string {
	v := url.Values{}
	for _, r := range refs {
		v.Add("ownedby", strings.ToLower(r))
	}
	return "/catalog?" + v.Encode()
}
