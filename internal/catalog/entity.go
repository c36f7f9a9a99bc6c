// Package catalog is the catalog's domain: entities, references, relations,
// validation, descriptor parsing and the filter language. It knows nothing of
// HTTP or SQL (a dependency test keeps it that way).
package catalog

import (
	"bytes"
	"encoding/json"
	"sort"
)

// The well-known annotations the catalog itself writes.
const (
	AnnotationManagedByLocation       = "backstage.io/managed-by-location"
	AnnotationManagedByOriginLocation = "backstage.io/managed-by-origin-location"
	AnnotationOrphan                  = "backstage.io/orphan"
	AnnotationSourceLocation          = "backstage.io/source-location"
)

// Entity is a catalog entity in Backstage's envelope.
type Entity struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Metadata       `json:"metadata"`
	Spec       map[string]any `json:"spec,omitempty"`
	Relations  []Relation     `json:"relations,omitempty"`
	Status     *Status        `json:"status,omitempty"`
}

// Metadata is an entity's metadata. Keys without meaning to the catalog are
// kept in Extra so that nothing a descriptor says is lost.
type Metadata struct {
	Name        string
	Namespace   string
	UID         string
	Etag        string
	Title       string
	Description string
	Labels      map[string]string
	Annotations map[string]string
	Tags        []string
	Links       []Link
	Extra       map[string]any
}

// Link is an entry of metadata.links.
type Link struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
	Icon  string `json:"icon,omitempty"`
	Type  string `json:"type,omitempty"`
}

// Relation is a typed edge from the entity that carries it to TargetRef.
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// Status holds the outcome of the last processing attempt.
type Status struct {
	Items []StatusItem `json:"items"`
}

// StatusItem is one entry of status.items.
type StatusItem struct {
	Type    string       `json:"type"`
	Level   string       `json:"level"`
	Message string       `json:"message"`
	Error   *StatusError `json:"error,omitempty"`
}

// StatusError is the serialised error of a status item.
type StatusError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// StatusTypeProcessing is the status item type of processing errors.
const StatusTypeProcessing = "backstage.io/catalog-processing"

// Ref returns the entity's reference.
func (e *Entity) Ref() Ref {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return Ref{Kind: e.Kind, Namespace: ns, Name: e.Metadata.Name}
}

// MarshalJSON writes metadata with its known keys first and Extra merged in.
func (m Metadata) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	field := func(k string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(b)
		return nil
	}
	type kv struct {
		k    string
		v    any
		skip bool
	}
	fields := []kv{
		{"name", m.Name, false},
		{"namespace", m.Namespace, m.Namespace == ""},
		{"uid", m.UID, m.UID == ""},
		{"etag", m.Etag, m.Etag == ""},
		{"title", m.Title, m.Title == ""},
		{"description", m.Description, m.Description == ""},
		{"labels", m.Labels, m.Labels == nil},
		{"annotations", m.Annotations, m.Annotations == nil},
		{"tags", m.Tags, m.Tags == nil},
		{"links", m.Links, m.Links == nil},
	}
	for _, f := range fields {
		if f.skip {
			continue
		}
		if err := field(f.k, f.v); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		if !knownMetadataKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := field(k, m.Extra[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads metadata, keeping unknown keys in Extra.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	var known struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		UID         string            `json:"uid"`
		Etag        string            `json:"etag"`
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Tags        []string          `json:"tags"`
		Links       []Link            `json:"links"`
	}
	if err := json.Unmarshal(b, &known); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*m = Metadata{
		Name: known.Name, Namespace: known.Namespace, UID: known.UID, Etag: known.Etag,
		Title: known.Title, Description: known.Description, Labels: known.Labels,
		Annotations: known.Annotations, Tags: known.Tags, Links: known.Links,
	}
	for k, raw := range all {
		if knownMetadataKey(k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if m.Extra == nil {
			m.Extra = map[string]any{}
		}
		m.Extra[k] = v
	}
	return nil
}

func knownMetadataKey(k string) bool {
	switch k {
	case "name", "namespace", "uid", "etag", "title", "description", "labels", "annotations", "tags", "links":
		return true
	}
	return false
}
