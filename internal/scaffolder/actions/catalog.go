package actions

import (
	"context"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
)

func catalogRegister(d Deps) scaffolder.Action {
	return &action{
		id: "catalog:register", description: "Registers entities from a catalog descriptor file in the workspace into the software catalog.",
		in: schema(`{"type":"object","oneOf":[{"required":["catalogInfoUrl"]},{"required":["repoContentsUrl"]}],"properties":{
			"catalogInfoUrl":{"type":"string","description":"An absolute URL pointing to the catalog info file location"},
			"repoContentsUrl":{"type":"string","description":"An absolute URL pointing to the root of a repository directory tree"},
			"catalogInfoPath":{"type":"string","description":"A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml"},
			"optional":{"type":"boolean","description":"Permit the registered location to optionally exist"}}}`),
		out: schema(`{"type":"object","properties":{"entityRef":{"type":"string"},"catalogInfoUrl":{"type":"string"}}}`),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				CatalogInfoURL  string `json:"catalogInfoUrl"`
				RepoContentsURL string `json:"repoContentsUrl"`
				CatalogInfoPath string `json:"catalogInfoPath"`
				Optional        bool   `json:"optional"`
			}](ac)
			if err != nil {
				return err
			}
			target := in.CatalogInfoURL
			if target == "" {
				p := in.CatalogInfoPath
				if p == "" {
					p = "/catalog-info.yaml"
				}
				target = strings.TrimRight(in.RepoContentsURL, "/") + "/" + strings.TrimLeft(p, "/")
			}
			spec := engine.LocationSpec{Type: "url", Target: target}
			if d.Git != nil {
				if local, ok := d.Git.LocalPath(target); ok {
					spec = engine.LocationSpec{Type: "file", Target: local}
				}
			}
			ac.Output("catalogInfoUrl", target)
			if ac.DryRun {
				ac.Logger.Info("dry run: would register", "type", spec.Type, "target", spec.Target)
				return nil
			}
			// A dry run reads the descriptor and says which entities it
			// holds; the registration itself answers only the location.
			preview, err := d.Catalog.AddLocation(ctx, spec, true)
			if err == nil {
				_, err = d.Catalog.AddLocation(ctx, spec, false)
				if fault.KindOf(err) == fault.Conflict {
					err = nil // already registered: the entities are there
				}
			}
			if err != nil {
				if in.Optional {
					ac.Logger.Warn("registration failed, continuing (optional)", "error", err.Error())
					return nil
				}
				return err
			}
			ac.Logger.Info("registered location", "type", spec.Type, "target", spec.Target, "entities", len(preview.Entities))
			if ref := pickEntity(preview.Entities); ref != "" {
				ac.Output("entityRef", ref)
			}
			return nil
		},
	}
}

// pickEntity chooses the entity a registration is about: the first one
// that is not a Location.
func pickEntity(es []*catalog.Entity) string {
	for _, e := range es {
		if !strings.EqualFold(e.Kind, "Location") {
			return e.Ref().String()
		}
	}
	if len(es) > 0 {
		return es[0].Ref().String()
	}
	return ""
}

func catalogWrite() scaffolder.Action {
	return &action{
		id: "catalog:write", description: "Writes the catalog-info.yaml for your template",
		in: schema(`{"type":"object","required":["entity"],"properties":{
			"filePath":{"type":"string","description":"Defaults to catalog-info.yaml"},
			"entity":{"type":"object","description":"You can provide the same values used in the Entity schema."}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				FilePath string         `json:"filePath"`
				Entity   map[string]any `json:"entity"`
			}](ac)
			if err != nil {
				return err
			}
			if in.FilePath == "" {
				in.FilePath = "catalog-info.yaml"
			}
			data, err := yaml.Marshal(in.Entity)
			if err != nil {
				return fault.Wrap(fault.Invalid, err, "catalog:write: entity")
			}
			if err := writeFile(ac.Workspace, in.FilePath, data, 0o644, true); err != nil {
				return err
			}
			ac.Logger.Info("wrote catalog descriptor", "path", in.FilePath)
			return nil
		},
	}
}

func catalogFetch(d Deps) scaffolder.Action {
	return &action{
		id: "catalog:fetch", description: "Returns entity or entities from the catalog by entity reference(s)",
		in: schema(`{"type":"object","properties":{
			"entityRef":{"type":"string"},"entityRefs":{"type":"array","items":{"type":"string"}},
			"optional":{"type":"boolean"},"defaultKind":{"type":"string"},"defaultNamespace":{"type":"string"}}}`),
		out: schema(`{"type":"object","properties":{"entity":{"type":"object"},"entities":{"type":"array"}}}`),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				EntityRef        string   `json:"entityRef"`
				EntityRefs       []string `json:"entityRefs"`
				Optional         bool     `json:"optional"`
				DefaultKind      string   `json:"defaultKind"`
				DefaultNamespace string   `json:"defaultNamespace"`
			}](ac)
			if err != nil {
				return err
			}
			if in.EntityRef == "" && len(in.EntityRefs) == 0 {
				return errorf("catalog:fetch: entityRef or entityRefs is required")
			}
			defaults := catalog.RefDefaults{Kind: in.DefaultKind, Namespace: in.DefaultNamespace}
			get := func(s string) (*catalog.Entity, error) {
				ref, err := catalog.ParseRef(s, defaults)
				if err != nil {
					return nil, fault.Wrap(fault.Invalid, err, "catalog:fetch: entity ref %q", s)
				}
				e, err := d.Catalog.EntityByRef(ctx, ref.String())
				if fault.KindOf(err) == fault.NotFound && in.Optional {
					return nil, nil
				}
				return e, err
			}
			if in.EntityRef != "" {
				e, err := get(in.EntityRef)
				if err != nil {
					return err
				}
				if e != nil {
					ac.Output("entity", e)
				}
			}
			if len(in.EntityRefs) > 0 {
				var out []any
				for _, s := range in.EntityRefs {
					e, err := get(s)
					if err != nil {
						return err
					}
					if e == nil {
						out = append(out, nil)
						continue
					}
					out = append(out, e)
				}
				ac.Output("entities", out)
			}
			return nil
		},
	}
}
