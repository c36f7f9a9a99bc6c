package catalog

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// MaxProjectionFields is the most fields one projection may list.
const MaxProjectionFields = 200

// Project applies Backstage's field projection (backstage.md §2.2): the
// result holds only the listed dot paths of the entity, a path to a subtree
// keeping the whole subtree. Keys that contain dots are found
// ("metadata.annotations.backstage.io/orphan"). Paths that lead nowhere
// add nothing. Empty fields means no projection: the whole entity. Array
// indexes are not supported, as in Backstage. The result shares values with
// e; treat it as read-only.
func Project(e *Entity, fields []string) (map[string]any, error) {
	if len(fields) > MaxProjectionFields {
		return nil, fault.New(fault.Invalid, "too many fields: %d, at most %d are allowed", len(fields), MaxProjectionFields)
	}
	for _, f := range fields {
		if strings.ContainsAny(f, "[]") {
			return nil, fault.New(fault.Invalid, "invalid fields, array type fields are not supported: %q", f)
		}
	}
	src := EntityMap(e)
	if len(fields) == 0 {
		return src, nil
	}
	out := map[string]any{}
	for _, f := range coveringFields(fields) {
		project(out, src, f)
	}
	return out, nil
}

// coveringFields trims fields and drops blanks, duplicates and paths inside
// another listed path, so that no kept subtree is written into.
func coveringFields(fields []string) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f != "" {
			out = append(out, f)
		}
	}
	kept := out[:0:0]
	for i, f := range out {
		covered := false
		for j, g := range out {
			if i != j && (strings.HasPrefix(f, g+".") || (f == g && j < i)) {
				covered = true
				break
			}
		}
		if !covered {
			kept = append(kept, f)
		}
	}
	return kept
}

// project copies the value at path from src into dst, creating the objects
// on the way.
func project(dst, src map[string]any, path string) {
	key, rest := splitKey(src, path)
	v, ok := src[key]
	if !ok {
		return
	}
	if rest == "" {
		dst[key] = v
		return
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return
	}
	if _, ok := lookup(sub, rest); !ok {
		return
	}
	d, ok := dst[key].(map[string]any)
	if !ok {
		d = map[string]any{}
		dst[key] = d
	}
	project(d, sub, rest)
}

// splitKey returns the key of m that path starts with, preferring the
// longest, and the rest of the path after it.
func splitKey(m map[string]any, path string) (key, rest string) {
	if _, ok := m[path]; ok {
		return path, ""
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '.' {
			if _, ok := m[path[:i]]; ok {
				return path[:i], path[i+1:]
			}
		}
	}
	k, r, _ := strings.Cut(path, ".")
	return k, r
}

func lookup(m map[string]any, path string) (any, bool) {
	key, rest := splitKey(m, path)
	v, ok := m[key]
	if !ok || rest == "" {
		return v, ok
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	return lookup(sub, rest)
}

// EntityMap returns the entity as the plain map its JSON decodes to, without
// a JSON round trip.
func EntityMap(e *Entity) map[string]any {
	out := map[string]any{
		"apiVersion": e.APIVersion,
		"kind":       e.Kind,
		"metadata":   metadataMap(&e.Metadata),
	}
	if e.Spec != nil {
		out["spec"] = e.Spec
	}
	if len(e.Relations) > 0 {
		rels := make([]any, len(e.Relations))
		for i, r := range e.Relations {
			rels[i] = map[string]any{"type": r.Type, "targetRef": r.TargetRef}
		}
		out["relations"] = rels
	}
	if e.Status != nil {
		items := make([]any, len(e.Status.Items))
		for i, it := range e.Status.Items {
			m := map[string]any{"type": it.Type, "level": it.Level, "message": it.Message}
			if it.Error != nil {
				m["error"] = map[string]any{"name": it.Error.Name, "message": it.Error.Message}
			}
			items[i] = m
		}
		out["status"] = map[string]any{"items": items}
	}
	return out
}

func metadataMap(m *Metadata) map[string]any {
	out := make(map[string]any, 8+len(m.Extra))
	for k, v := range m.Extra {
		if !knownMetadataKey(k) {
			out[k] = v
		}
	}
	out["name"] = m.Name
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("namespace", m.Namespace)
	set("uid", m.UID)
	set("etag", m.Etag)
	set("title", m.Title)
	set("description", m.Description)
	if m.Labels != nil {
		out["labels"] = stringMapAny(m.Labels)
	}
	if m.Annotations != nil {
		out["annotations"] = stringMapAny(m.Annotations)
	}
	if m.Tags != nil {
		tags := make([]any, len(m.Tags))
		for i, t := range m.Tags {
			tags[i] = t
		}
		out["tags"] = tags
	}
	if m.Links != nil {
		links := make([]any, len(m.Links))
		for i, l := range m.Links {
			lm := map[string]any{"url": l.URL}
			if l.Title != "" {
				lm["title"] = l.Title
			}
			if l.Icon != "" {
				lm["icon"] = l.Icon
			}
			if l.Type != "" {
				lm["type"] = l.Type
			}
			links[i] = lm
		}
		out["links"] = links
	}
	return out
}

func stringMapAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
