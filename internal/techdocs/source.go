package techdocs

import (
	"net/url"
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

// sourceURL resolves the docs folder of an entity registered from a url
// location: the dir: path against the descriptor's URL. remote is false for
// other locations (sourceDir handles file ones). The folder must lie under
// the folder of the registered (origin) location's URL.
func sourceURL(e *catalog.Entity) (folder string, remote bool, err error) {
	loc, lerr := catalog.ParseLocationRef(e.Metadata.Annotations[catalog.AnnotationManagedByLocation])
	if lerr != nil || loc.Type != "url" {
		return "", false, nil
	}
	ref := strings.TrimSpace(e.Metadata.Annotations[Annotation])
	typ, target, ok := strings.Cut(ref, ":")
	if !ok || typ != "dir" {
		return "", true, fault.New(fault.NotImplemented, "%s of %s is %q; only dir: references are built", Annotation, e.Ref(), ref)
	}
	if strings.HasPrefix(target, "/") || strings.Contains(target, "://") {
		return "", true, fault.New(fault.Invalid, "%s of %s must be relative to the descriptor, got %q", Annotation, e.Ref(), target)
	}
	base, err := url.Parse(loc.Target)
	if err != nil {
		return "", true, fault.Wrap(fault.Invalid, err, "%s of %s", catalog.AnnotationManagedByLocation, e.Ref())
	}
	dir := strings.TrimSuffix(target, "/") + "/"
	if target == "." || target == "./" {
		dir = "./"
	}
	u := base.ResolveReference(&url.URL{Path: dir}).String()
	bound := base.ResolveReference(&url.URL{Path: "./"}).String()
	if o, err := catalog.ParseLocationRef(e.Metadata.Annotations[catalog.AnnotationManagedByOriginLocation]); err == nil && o.Type == "url" {
		if ob, err := url.Parse(o.Target); err == nil {
			bound = ob.ResolveReference(&url.URL{Path: "./"}).String()
		}
	}
	if !strings.HasPrefix(u, bound) {
		return "", true, fault.New(fault.Forbidden, "%s of %s points outside the registered location's folder", Annotation, e.Ref())
	}
	return strings.TrimSuffix(u, "/"), true, nil
}
