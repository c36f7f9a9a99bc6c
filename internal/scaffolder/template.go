package scaffolder

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// APIVersion is the Template apiVersion Atrium runs.
const APIVersion = "scaffolder.backstage.io/v1beta3"

// Template is a parsed Template entity.
type Template struct {
	Ref         string
	Title       string
	Description string
	// BaseURL is where relative fetch URLs resolve: the folder of the
	// template's descriptor ("file:/dir/" or "https://host/dir/").
	BaseURL string
	// Pages are the parameter form steps, each a JSON Schema object.
	Pages  []map[string]any
	Steps  []StepSpec
	Output map[string]any
	// Presentation and Entity are passed through to the API.
	Presentation map[string]any
	Metadata     map[string]any

	schema *jsonschema.Schema
}

// StepSpec is one step as the template writes it.
type StepSpec struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Action string         `json:"action"`
	Input  map[string]any `json:"input,omitempty"`
	If     any            `json:"if,omitempty"`
	Each   any            `json:"each,omitempty"`
}

// ParseTemplate reads a Template entity (as stored in the catalog).
func ParseTemplate(e *catalog.Entity) (*Template, error) {
	if e == nil || !strings.EqualFold(e.Kind, "Template") {
		return nil, fault.New(fault.Invalid, "not a Template entity")
	}
	ref := e.Ref().String()
	if e.APIVersion != APIVersion {
		return nil, fault.New(fault.Invalid, "%s: apiVersion %q is not supported (want %s)", ref, e.APIVersion, APIVersion)
	}
	raw, err := json.Marshal(e.Spec)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%s: spec", ref)
	}
	var spec struct {
		Parameters   json.RawMessage `json:"parameters"`
		Steps        []StepSpec      `json:"steps"`
		Output       map[string]any  `json:"output"`
		Presentation map[string]any  `json:"presentation"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fault.New(fault.Invalid, "%s: spec: %v", ref, err)
	}
	t := &Template{
		Ref: ref, Title: e.Metadata.Title, Description: e.Metadata.Description,
		Steps: spec.Steps, Output: spec.Output, Presentation: spec.Presentation,
	}
	if t.Title == "" {
		t.Title = e.Metadata.Name
	}
	if loc := e.Metadata.Annotations[catalog.AnnotationManagedByLocation]; loc != "" {
		t.BaseURL = baseOf(loc)
	}
	if len(spec.Parameters) > 0 && string(spec.Parameters) != "null" {
		var pages []map[string]any
		if err := json.Unmarshal(spec.Parameters, &pages); err != nil {
			var one map[string]any
			if err2 := json.Unmarshal(spec.Parameters, &one); err2 != nil {
				return nil, fault.New(fault.Invalid, "%s: spec.parameters must be a JSON Schema object or a list of them", ref)
			}
			pages = []map[string]any{one}
		}
		t.Pages = pages
	}
	seen := map[string]bool{}
	for i := range t.Steps {
		s := &t.Steps[i]
		if s.ID == "" {
			s.ID = fmt.Sprintf("step-%d", i+1)
		}
		if s.Name == "" {
			s.Name = s.Action
		}
		if s.Action == "" {
			return nil, fault.New(fault.Invalid, "%s: spec.steps[%d] (%s): action is required", ref, i, s.ID)
		}
		if seen[s.ID] {
			return nil, fault.New(fault.Invalid, "%s: spec.steps[%d]: duplicate step id %q", ref, i, s.ID)
		}
		seen[s.ID] = true
	}
	if len(t.Steps) == 0 {
		return nil, fault.New(fault.Invalid, "%s: spec.steps is required", ref)
	}
	if t.schema, err = compileSchema(ref, t.mergedSchema()); err != nil {
		return nil, err
	}
	return t, nil
}

// mergedSchema is one schema all pages must satisfy.
func (t *Template) mergedSchema() map[string]any {
	if len(t.Pages) == 0 {
		return map[string]any{"type": "object"}
	}
	all := make([]any, len(t.Pages))
	for i, p := range t.Pages {
		all[i] = p
	}
	return map[string]any{"allOf": all}
}

// Validate checks submitted values against every parameter page.
func (t *Template) Validate(values map[string]any) error {
	if values == nil {
		values = map[string]any{}
	}
	return validate(t.schema, values)
}

// WithDefaults returns values with each page's property defaults filled in
// where a value is missing, as the form does, so that API callers may
// leave defaulted parameters out.
func (t *Template) WithDefaults(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	for _, p := range t.Pages {
		props, _ := p["properties"].(map[string]any)
		for name, raw := range props {
			prop, _ := raw.(map[string]any)
			if def, ok := prop["default"]; ok {
				if _, set := out[name]; !set {
					out[name] = def
				}
			}
		}
	}
	return out
}

// baseOf returns the folder of a location string "type:target".
func baseOf(loc string) string {
	i := strings.LastIndex(loc, "/")
	if i < 0 {
		return loc
	}
	return loc[:i+1]
}

// ParameterSchema is the answer of GET .../parameter-schema.
type ParameterSchema struct {
	Title        string          `json:"title"`
	Description  string          `json:"description,omitempty"`
	Steps        []ParameterStep `json:"steps"`
	Presentation map[string]any  `json:"presentation,omitempty"`
}

// ParameterStep is one page of the form.
type ParameterStep struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"schema"`
}

// ParameterSchema returns the form pages.
func (t *Template) ParameterSchema() ParameterSchema {
	ps := ParameterSchema{Title: t.Title, Description: t.Description, Presentation: t.Presentation, Steps: []ParameterStep{}}
	for _, p := range t.Pages {
		title, _ := p["title"].(string)
		desc, _ := p["description"].(string)
		ps.Steps = append(ps.Steps, ParameterStep{Title: title, Description: desc, Schema: p})
	}
	return ps
}
