package engine

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// Provider is an entity provider: the one way entities enter the catalog.
// The static locations, the registered locations, imports and plugins
// (GitLab discovery, AWX…) are all providers.
type Provider interface {
	// Name is stable and unique; it names the provider's bucket of entities.
	Name() string
	// Connect hands the provider its connection. A provider may apply
	// mutations during Connect and later, from its own goroutines, until the
	// context is done.
	Connect(ctx context.Context, conn Connection) error
}

// Connection is how a provider changes its bucket.
type Connection interface {
	// ApplyMutation processes and stores the entities of m.
	ApplyMutation(ctx context.Context, m Mutation) error
	// Refresh reprocesses now the entities that keys name: entity refs, or
	// location refs (type:target) of Location entities' targets.
	Refresh(ctx context.Context, keys []string) error
}

// MutationType is MutationFull or MutationDelta.
type MutationType string

// The mutation types.
const (
	// MutationFull replaces the provider's bucket: entities missing from it
	// are deleted at once, with descendants left without a parent.
	MutationFull MutationType = "full"
	// MutationDelta adds or updates Entities and removes Removed.
	MutationDelta MutationType = "delta"
)

// Mutation is a change of a provider's bucket.
type Mutation struct {
	Type     MutationType
	Entities []Deferred
	// Removed is only for delta mutations.
	Removed []Deferred
}

// Deferred is an entity handed to the catalog by a provider. Every entity
// must carry the backstage.io/managed-by-location and
// backstage.io/managed-by-origin-location annotations, or it is refused.
// Processing may change Document.Raw in place ($text, $json and $yaml
// placeholders are replaced), so a provider should not reuse it.
type Deferred struct {
	// Document is the entity as parsed; when its Raw is nil, Entity is used.
	Document catalog.Document
	// Entity is the entity as JSON.
	Entity json.RawMessage
	// LocationKey owns the entity: another key cannot overwrite it. Empty
	// lets any other source take it over.
	LocationKey string
	// Ref names an entity to remove, instead of Document or Entity (Removed only).
	Ref string
}

// document returns d's document.
func (d Deferred) document() (catalog.Document, error) {
	if d.Document.Raw != nil {
		return d.Document, nil
	}
	if len(d.Entity) == 0 {
		return catalog.Document{}, fmt.Errorf("deferred entity has neither a document nor JSON")
	}
	return catalog.DocumentFromJSON("", d.Entity)
}

// ref returns the canonical ref d names.
func (d Deferred) ref() (string, error) {
	if d.Ref != "" {
		r, err := catalog.ParseRef(d.Ref, catalog.RefDefaults{})
		if err != nil {
			return "", err
		}
		return r.String(), nil
	}
	doc, err := d.document()
	if err != nil {
		return "", err
	}
	ref := refFromRaw(doc.Raw)
	if ref == "" {
		return "", fmt.Errorf("entity has no kind and name")
	}
	return ref, nil
}

// connection is a provider's handle on the engine.
type connection struct {
	e    *Engine
	name string
}

func (c *connection) ApplyMutation(ctx context.Context, m Mutation) error {
	key := providerKey(c.name)
	var units []*unit
	for i, d := range m.Entities {
		doc, err := d.document()
		if err != nil {
			c.e.log.Warn("catalog provider emitted an unreadable entity", "provider", c.name, "index", i, "err", err)
			continue
		}
		anns := annotationsOf(doc.Raw)
		if anns[catalog.AnnotationManagedByLocation] == "" || anns[catalog.AnnotationManagedByOriginLocation] == "" {
			ref := refFromRaw(doc.Raw)
			c.e.log.Warn("catalog provider emitted an entity without managed-by-location and managed-by-origin-location annotations; refused",
				"provider", c.name, "entity", ref)
			continue
		}
		units = append(units, &unit{doc: &doc, parent: key, locKey: d.LocationKey})
	}
	switch m.Type {
	case MutationFull:
		_, err := c.e.runPass(ctx, passSpec{kind: passFull, root: key, units: units})
		return err
	case MutationDelta:
		if _, err := c.e.runPass(ctx, passSpec{kind: passDelta, root: key, units: units}); err != nil {
			return err
		}
		var refs []string
		for _, d := range m.Removed {
			ref, err := d.ref()
			if err != nil {
				c.e.log.Warn("catalog provider removed an entity it did not name", "provider", c.name, "err", err)
				continue
			}
			refs = append(refs, ref)
		}
		return c.e.removeFromParent(ctx, key, refs)
	default:
		return fmt.Errorf("mutation type %q is not %q or %q", m.Type, MutationFull, MutationDelta)
	}
}

func (c *connection) Refresh(ctx context.Context, keys []string) error {
	return c.e.refreshKeys(ctx, keys)
}

// generatedName is the name of the Location entity that represents a
// registered or static location: generated-<sha1hex(type:target)>.
func generatedName(loc catalog.LocationRef) string {
	sum := sha1.Sum([]byte(loc.Type + ":" + loc.Target))
	return "generated-" + hex.EncodeToString(sum[:])
}

// generatedRef is the canonical ref of loc's generated Location entity.
func generatedRef(loc catalog.LocationRef) string {
	return "location:default/" + generatedName(loc)
}

// locationDocument is the Location entity that stands for loc.
func locationDocument(loc catalog.LocationRef, origin string) catalog.Document {
	return catalog.Document{
		File: loc.String(),
		Raw: map[string]any{
			"apiVersion": "backstage.io/v1alpha1",
			"kind":       "Location",
			"metadata": map[string]any{
				"name":      generatedName(loc),
				"namespace": catalog.DefaultNamespace,
				"annotations": map[string]any{
					catalog.AnnotationManagedByLocation:       loc.String(),
					catalog.AnnotationManagedByOriginLocation: origin,
				},
			},
			"spec": map[string]any{"type": loc.Type, "target": loc.Target},
		},
	}
}
