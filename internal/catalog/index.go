package catalog

import (
	"slices"
	"strings"
)

// The longest key and value the search index holds, as in Backstage. A
// longer key is not indexed; a longer value is indexed as "" (the key
// exists but no value matches).
const (
	MaxSearchKeyLength   = 200
	MaxSearchValueLength = 200
)

// SearchRows flattens an entity into the rows Backstage's search table holds
// (backstage.md §2.1): lowercased dot-path keys with lowercased values.
// Arrays are descended transparently; every string item of an array is also
// a key of its own with the value "true" ("metadata.tags.java"). kind,
// apiVersion, metadata.name, metadata.namespace and metadata.uid are always
// present. Relations, status and metadata.etag are not indexed. Rows are
// deduplicated and sorted by key, value and original.
func SearchRows(e *Entity) []SearchRow {
	b := searchBuilder{rows: make([]SearchRow, 0, 24)}
	b.add("apiVersion", e.APIVersion)
	b.add("kind", e.Kind)
	m := &e.Metadata
	b.add("metadata.name", m.Name)
	ns := m.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	b.add("metadata.namespace", ns)
	b.add("metadata.uid", m.UID)
	if m.Title != "" {
		b.add("metadata.title", m.Title)
	}
	if m.Description != "" {
		b.add("metadata.description", m.Description)
	}
	for k, v := range m.Labels {
		b.add("metadata.labels."+k, v)
	}
	for k, v := range m.Annotations {
		b.add("metadata.annotations."+k, v)
	}
	for _, t := range m.Tags {
		b.add("metadata.tags", t)
		b.add("metadata.tags."+t, "true")
	}
	for _, l := range m.Links {
		b.add("metadata.links.url", l.URL)
		if l.Title != "" {
			b.add("metadata.links.title", l.Title)
		}
		if l.Icon != "" {
			b.add("metadata.links.icon", l.Icon)
		}
		if l.Type != "" {
			b.add("metadata.links.type", l.Type)
		}
	}
	for k, v := range m.Extra {
		if !knownMetadataKey(k) {
			b.visit("metadata."+k, v, 0)
		}
	}
	for k, v := range e.Spec {
		b.visit("spec."+k, v, 0)
	}
	slices.SortFunc(b.rows, compareSearchRows)
	return slices.Compact(b.rows)
}

func compareSearchRows(a, b SearchRow) int {
	if c := strings.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	return strings.Compare(a.Original, b.Original)
}

type searchBuilder struct {
	rows []SearchRow
}

// maxSearchDepth stops indexing absurdly deep values; parsing already
// bounds depth, this guards entities built in code.
const maxSearchDepth = 64

func (b *searchBuilder) visit(path string, x any, depth int) {
	if depth > maxSearchDepth {
		return
	}
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			b.visit(path+"."+k, v, depth+1)
		}
	case []any:
		for _, item := range t {
			b.visit(path, item, depth+1)
			if s, ok := item.(string); ok {
				b.add(path+"."+s, "true")
			}
		}
	case []string:
		for _, s := range t {
			b.add(path, s)
			b.add(path+"."+s, "true")
		}
	case map[string]string:
		for k, v := range t {
			b.add(path+"."+k, v)
		}
	case nil:
		b.add(path, "")
	default:
		b.add(path, scalarString(x))
	}
}

func (b *searchBuilder) add(key, value string) {
	if len(key) > MaxSearchKeyLength {
		return
	}
	r := SearchRow{Key: lower(key), Value: lower(value), Original: value}
	if len(value) > MaxSearchValueLength {
		r.Value, r.Original = "", ""
	}
	b.rows = append(b.rows, r)
}

// lower is strings.ToLower without an allocation for strings that are
// already lowercase ASCII, which most keys and values are.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// FullTextDocument returns the text full-text search matches an entity
// against: its name, title, description, kind, namespace, tags, type,
// lifecycle, owner, system and profile names, separated by spaces.
func FullTextDocument(e *Entity) string {
	var b strings.Builder
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	add(e.Metadata.Name)
	add(e.Metadata.Title)
	add(e.Metadata.Description)
	add(e.Kind)
	add(e.Metadata.Namespace)
	for _, t := range e.Metadata.Tags {
		add(t)
	}
	for _, k := range []string{"type", "lifecycle", "owner", "system", "domain"} {
		if s, ok := e.Spec[k].(string); ok {
			add(s)
		}
	}
	if p, ok := e.Spec["profile"].(map[string]any); ok {
		for _, k := range []string{"displayName", "email"} {
			if s, ok := p[k].(string); ok {
				add(s)
			}
		}
	}
	return b.String()
}
