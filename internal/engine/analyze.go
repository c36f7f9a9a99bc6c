package engine

import (
	"context"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// DefaultCatalogFilename is the descriptor AnalyzeLocation looks for.
const DefaultCatalogFilename = "catalog-info.yaml"

// AnalyzeLocation looks for descriptors at a url or file location (§2.13):
// the target itself when it names a YAML file, else catalogFilename inside
// it. Found entities are returned with whether they are in the catalog;
// when there are none, a Component is proposed whose owner the user must
// choose.
func (e *Engine) AnalyzeLocation(ctx context.Context, spec LocationSpec, catalogFilename string) (*Analysis, error) {
	if catalogFilename == "" {
		catalogFilename = DefaultCatalogFilename
	}
	if strings.ContainsAny(catalogFilename, `/\`) || catalogFilename == ".." {
		return nil, fault.New(fault.Invalid, "catalogFilename %q must be a file name, not a path", catalogFilename)
	}
	typ, target := strings.TrimSpace(spec.Type), strings.TrimSpace(spec.Target)
	if typ == "" {
		typ = "url"
	}
	var loc catalog.LocationRef
	var name string
	switch typ {
	case "url":
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fault.New(fault.Invalid, "The given location.target is not a URL")
		}
		if !descriptorExt(u.Path) {
			u.Path = strings.TrimSuffix(u.Path, "/") + "/" + catalogFilename
			u.RawPath = ""
		}
		loc = catalog.LocationRef{Type: "url", Target: u.String()}
		name = path.Base(path.Dir(u.Path))
	case "file":
		if target == "" {
			return nil, fault.New(fault.Invalid, "The given location.target is empty")
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(e.baseDir, target)
		}
		target = filepath.Clean(target)
		if !descriptorExt(target) {
			target = filepath.Join(target, catalogFilename)
		}
		loc = catalog.LocationRef{Type: "file", Target: target}
		name = filepath.Base(filepath.Dir(target))
	default:
		return nil, fault.New(fault.Invalid, "Unable to analyze location of type %q; use url or file", typ)
	}
	rd, ok := e.readers[loc.Type]
	if !ok {
		return nil, fault.New(fault.Invalid, "no reader is configured for location type %q", loc.Type)
	}
	out := &Analysis{ExistingEntityFiles: []ExistingEntityFile{}, GenerateEntities: []GeneratedEntity{}}
	data, err := rd.Read(ctx, loc.Target)
	if fault.Is(err, fault.NotFound) {
		out.GenerateEntities = append(out.GenerateEntities, proposeComponent(name))
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	docs, err := catalog.ParseDescriptors(loc.Target, data, e.limits.Parse)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%s", err.Error())
	}
	var problems catalog.Problems
	for _, doc := range docs {
		stampLocation(doc.Raw, loc.String(), loc.String())
		ent, ps := catalog.ValidateDocument(doc)
		if len(ps) > 0 {
			problems = append(problems, ps...)
			continue
		}
		registered := false
		if _, err := e.store.EntityGetByRef(ctx, ent.Ref().String()); err == nil {
			registered = true
		} else if !fault.Is(err, fault.NotFound) {
			return nil, err
		}
		out.ExistingEntityFiles = append(out.ExistingEntityFiles, ExistingEntityFile{
			Entity:       ent,
			IsRegistered: registered,
			Location:     LocationSpec{Type: loc.Type, Target: loc.Target},
		})
	}
	if len(out.ExistingEntityFiles) == 0 && len(problems) > 0 {
		return nil, fault.New(fault.Invalid, "%s", problems.Error())
	}
	return out, nil
}

// proposeComponent is the entity proposed for a location without
// descriptors, named after its repository or directory.
func proposeComponent(dir string) GeneratedEntity {
	return GeneratedEntity{
		Entity: map[string]any{
			"apiVersion": "backstage.io/v1alpha1",
			"kind":       "Component",
			"metadata":   map[string]any{"name": entityName(dir)},
			"spec":       map[string]any{"type": "other", "lifecycle": "unknown"},
		},
		Fields: []GeneratedField{{
			Field:       "spec.owner",
			State:       "needsUserInput",
			Description: "Entity owner is recommended",
		}},
	}
}

// entityName turns a repository or directory name into a valid entity name.
func entityName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		default:
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-_.")
	if len(n) > 63 {
		n = strings.Trim(n[:63], "-_.")
	}
	if n == "" {
		n = "component"
	}
	return n
}
