package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// processDoc runs one document through the pipeline: annotations,
// placeholders, validation, rules, relations, size; and for a Location
// entity, works out the targets to read.
func (e *Engine) processDoc(ctx context.Context, u *unit, doc catalog.Document) *docResult {
	r := &docResult{u: u}
	if u.doc == nil {
		stampLocation(doc.Raw, u.target.String(), u.scope.origin)
	}
	r.ref = refFromRaw(doc.Raw)
	if base, err := catalog.ParseLocationRef(annotationsOf(doc.Raw)[catalog.AnnotationManagedByLocation]); err == nil {
		if ps := catalog.ResolvePlaceholders(ctx, &doc, base, e.readLocation); len(ps) > 0 {
			r.fail(string(fault.Invalid), ps...)
		}
	}
	var ent *catalog.Entity
	if len(r.problems) == 0 {
		var ps catalog.Problems
		ent, ps = catalog.ValidateDocument(doc)
		if len(ps) > 0 {
			r.fail(string(fault.Invalid), ps...)
		}
	}
	if ent != nil && len(r.problems) == 0 {
		r.ref = ent.Ref().String()
		if sc := u.scope; sc != nil && sc.rules != nil && !sc.rules.Allows(ent.Kind, sc.ruleOrigin) {
			r.fail(string(fault.Forbidden), catalog.Problem{File: doc.File, Line: doc.Line, Field: "kind", Message: fmt.Sprintf(
				"entity %s of kind %s is not allowed from location %s; catalog.rules do not allow that kind there", r.ref, ent.Kind, sc.ruleOrigin)})
		}
	}
	var extra []catalog.RelationRow
	if ent != nil && len(r.problems) == 0 && e.hasProcessors() {
		ent, extra = e.runProcessors(ctx, r, doc, ent)
	}
	if ent != nil && len(r.problems) == 0 {
		rows, ps := catalog.Relations(ent)
		rows = append(rows, extra...)
		if len(ps) > 0 {
			r.fail(string(fault.Invalid), ps...)
		} else {
			rec, err := e.record(ent, rows, u.locKey, store.NewUID())
			switch {
			case err != nil:
				r.fail(string(fault.Invalid), catalog.Problem{File: doc.File, Line: doc.Line, Message: err.Error()})
			case len(rec.Body) > e.limits.MaxEntityBytes:
				r.fail(string(fault.TooLarge), catalog.Problem{File: doc.File, Line: doc.Line, Message: fmt.Sprintf(
					"entity %s is %d bytes once processed, over the limit of %d bytes", r.ref, len(rec.Body), e.limits.MaxEntityBytes)})
			default:
				r.entity, r.rec, r.hash = ent, rec, rec.Hash
			}
		}
	}
	if r.entity == nil {
		r.hash = hashRaw(doc.Raw, u.locKey)
		return r
	}
	if strings.EqualFold(ent.Kind, "Location") {
		r.loc = e.expandLocation(ctx, r)
	}
	return r
}

// fail records problems of the document as status items named name.
func (r *docResult) fail(name string, ps ...catalog.Problem) {
	r.problems = append(r.problems, problemItems(name, ps)...)
	r.probs = append(r.probs, ps...)
}

// readLocation reads "type:target" with the reader of its type.
func (e *Engine) readLocation(ctx context.Context, ref string) ([]byte, error) {
	loc, err := catalog.ParseLocationRef(ref)
	if err != nil {
		return nil, err
	}
	rd, ok := e.readers[loc.Type]
	if !ok {
		return nil, fault.New(fault.Invalid, "no reader for location type %q", loc.Type)
	}
	return rd.Read(ctx, loc.Target)
}

// expandLocation works out the units a valid Location entity's targets
// make: relative targets are resolved against the entity's own location,
// wildcard targets are expanded.
func (e *Engine) expandLocation(ctx context.Context, r *docResult) *locResult {
	lr := &locResult{res: r}
	ent, u := r.entity, r.u
	if u.depth+1 > e.limits.MaxLocationDepth {
		lr.fail(statusItem(string(fault.TooLarge), fmt.Sprintf("%s is nested more than %d Location entities deep; its targets were not read", r.ref, e.limits.MaxLocationDepth)))
		return lr
	}
	anns := ent.Metadata.Annotations
	base, err := catalog.ParseLocationRef(anns[catalog.AnnotationManagedByLocation])
	if err != nil {
		lr.fail(statusItem(string(fault.Invalid), fmt.Sprintf("%s has no valid %s annotation: %s", r.ref, catalog.AnnotationManagedByLocation, fault.MessageOf(err))))
		return lr
	}
	typ, _ := ent.Spec["type"].(string)
	if typ == "" {
		typ = base.Type
	}
	var targets []string
	if t, _ := ent.Spec["target"].(string); t != "" {
		targets = append(targets, t)
	}
	if ts, ok := ent.Spec["targets"].([]any); ok {
		for _, t := range ts {
			if s, _ := t.(string); s != "" {
				targets = append(targets, s)
			}
		}
	}
	optional := ent.Spec["presence"] == "optional"
	sc := u.scope
	if sc == nil {
		sc = e.rootScope(ent)
	} else if o := anns[catalog.AnnotationManagedByOriginLocation]; o != "" && o != sc.origin {
		c := *sc
		c.origin = o
		sc = &c
	}
	ancestors := append(append([]string(nil), u.ancestors...), r.ref)
	child := func(loc catalog.LocationRef, opt bool) *unit {
		return &unit{target: loc, optional: opt, parent: r.ref, emitter: lr, locKey: loc.String(), scope: sc,
			depth: u.depth + 1, ancestors: ancestors, noCache: u.noCache}
	}
	for _, t := range targets {
		loc, err := resolveTarget(base, typ, t)
		if err != nil {
			lr.fail(statusItem(string(fault.Invalid), fmt.Sprintf("%s: target %q: %v", r.ref, t, err)))
			continue
		}
		rd, ok := e.readers[loc.Type]
		if !ok {
			lr.fail(statusItem(string(fault.Invalid), fmt.Sprintf("No processor was able to handle reading of %s", loc)))
			continue
		}
		if !isGlob(loc.Target) {
			lr.children = append(lr.children, child(loc, optional))
			continue
		}
		g, ok := rd.(Globber)
		if !ok {
			lr.fail(statusItem(string(fault.Invalid), fmt.Sprintf("%s: location type %q does not support wildcard targets", loc, loc.Type)))
			continue
		}
		matches, err := g.Glob(ctx, loc.Target)
		if err != nil {
			lr.fail(errorItem(err))
			continue
		}
		if len(lr.children)+len(matches) > e.limits.MaxEntitiesPerLocation {
			lr.fail(statusItem(string(fault.TooLarge), fmt.Sprintf(
				"%s matches %d files, more than the limit of %d entities per location; its previous entities are kept", loc, len(matches), e.limits.MaxEntitiesPerLocation)))
			continue
		}
		for _, m := range matches {
			// A file matched by a wildcard exists; if it vanishes before it
			// is read, that is not an error.
			lr.children = append(lr.children, child(catalog.LocationRef{Type: loc.Type, Target: m}, true))
		}
	}
	return lr
}

// resolveTarget resolves a Location entity's target of type typ against the
// entity's own location.
func resolveTarget(base catalog.LocationRef, typ, target string) (catalog.LocationRef, error) {
	if typ == base.Type {
		return catalog.ResolveTarget(base, target)
	}
	switch typ {
	case "url":
		loc, err := catalog.ResolveTarget(catalog.LocationRef{Type: "url"}, target)
		if err != nil || loc.Type != "url" {
			return catalog.LocationRef{}, fmt.Errorf("a url target must be an absolute URL when the Location is read from %s", base)
		}
		return loc, nil
	case "file":
		if strings.HasPrefix(target, "/") {
			return catalog.ResolveTarget(catalog.LocationRef{Type: "file", Target: "/"}, target)
		}
		return catalog.LocationRef{}, fmt.Errorf("a file target must be an absolute path when the Location is read from %s", base)
	}
	return catalog.LocationRef{Type: typ, Target: target}, nil
}

// rootScope is the scope of the children of a provider-level Location
// entity: rules are checked against its origin (for static locations, the
// static location itself, with its own rules when it has some).
func (e *Engine) rootScope(ent *catalog.Entity) *scope {
	anns := ent.Metadata.Annotations
	loc, origin := anns[catalog.AnnotationManagedByLocation], anns[catalog.AnnotationManagedByOriginLocation]
	key := origin
	if key == "" || key == OriginBootstrap {
		key = loc
	}
	rules := &e.rules
	if sl, ok := e.staticByKey[key]; ok && sl.rules != nil {
		rules = sl.rules
	}
	ro, _ := catalog.ParseLocationRef(key)
	if origin == "" {
		origin = loc
	}
	return &scope{ruleOrigin: ro, rules: rules, origin: origin}
}

// refFromRaw returns the canonical ref a raw document names, "" when it
// names none.
func refFromRaw(raw map[string]any) string {
	kind, _ := raw["kind"].(string)
	md, _ := raw["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	if kind == "" || name == "" {
		return ""
	}
	return catalog.Ref{Kind: kind, Namespace: ns, Name: name}.String()
}

// looksLikeEntity reports whether a document is meant as an entity: it has
// an apiVersion or a kind.
func looksLikeEntity(raw map[string]any) bool {
	_, v := raw["apiVersion"]
	_, k := raw["kind"]
	return v || k
}

// annotationsOf returns a raw document's string annotations.
func annotationsOf(raw map[string]any) map[string]string {
	md, _ := raw["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	out := make(map[string]string, len(a))
	for k, v := range a {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// stampLocation sets the managed-by annotations of a document read from a
// location. A document without a metadata object is left to validation.
func stampLocation(raw map[string]any, location, origin string) {
	md, ok := raw["metadata"].(map[string]any)
	if !ok {
		return
	}
	a, ok := md["annotations"].(map[string]any)
	if !ok {
		if md["annotations"] != nil {
			return
		}
		a = map[string]any{}
		md["annotations"] = a
	}
	a[catalog.AnnotationManagedByLocation] = location
	a[catalog.AnnotationManagedByOriginLocation] = origin
}

// hashRaw hashes an invalid document's input.
func hashRaw(raw map[string]any, locKey string) string {
	b, err := json.Marshal(raw)
	if err != nil {
		return hashBytes([]byte(fmt.Sprint(raw)), locKey)
	}
	return hashBytes(b, locKey)
}
