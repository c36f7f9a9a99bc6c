package techdocs

import (
	"path/filepath"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// Annotation names where an entity's documentation lives.
const Annotation = "backstage.io/techdocs-ref"

// HasDocs reports whether e declares documentation.
func HasDocs(e *catalog.Entity) bool {
	return e != nil && strings.TrimSpace(e.Metadata.Annotations[Annotation]) != ""
}

// sourceDir resolves the folder an entity's techdocs-ref points at: a
// `dir:` path relative to the descriptor of a `file` location. The folder
// must lie inside the folder of the location that was registered (the
// origin), so a descriptor cannot publish arbitrary folders of the server.
func sourceDir(e *catalog.Entity) (string, error) {
	ref := strings.TrimSpace(e.Metadata.Annotations[Annotation])
	if ref == "" {
		return "", fault.New(fault.NotFound, "%s has no %s annotation", e.Ref(), Annotation)
	}
	typ, target, ok := strings.Cut(ref, ":")
	if !ok || typ != "dir" {
		return "", fault.New(fault.NotImplemented, "%s of %s is %q; only dir: references next to a file location are built (url: sources are not supported yet)", Annotation, e.Ref(), ref)
	}
	loc, err := catalog.ParseLocationRef(e.Metadata.Annotations[catalog.AnnotationManagedByLocation])
	if err != nil {
		return "", fault.Wrap(fault.Invalid, err, "%s has no usable %s annotation", e.Ref(), catalog.AnnotationManagedByLocation)
	}
	if loc.Type != "file" {
		return "", fault.New(fault.NotImplemented, "the documentation of %s lives at a %s location; only file locations are built so far", e.Ref(), loc.Type)
	}
	if filepath.IsAbs(target) {
		return "", fault.New(fault.Invalid, "%s of %s must be relative to the descriptor, got %q", Annotation, e.Ref(), target)
	}
	dir := filepath.Join(filepath.Dir(loc.Target), filepath.FromSlash(target))

	bound := filepath.Dir(loc.Target)
	if o, err := catalog.ParseLocationRef(e.Metadata.Annotations[catalog.AnnotationManagedByOriginLocation]); err == nil && o.Type == "file" {
		bound = filepath.Dir(o.Target)
	}
	if !within(bound, dir) {
		return "", fault.New(fault.Forbidden, "%s of %s points outside the registered location's folder", Annotation, e.Ref())
	}
	return dir, nil
}

// within reports whether path is dir or inside it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
