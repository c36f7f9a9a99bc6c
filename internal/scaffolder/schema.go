package scaffolder

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/atrium-portal/atrium/internal/fault"
)

// ValidationError is one problem with submitted values, in Backstage's
// shape (the fields the UI reads).
type ValidationError struct {
	Path     []string `json:"path"`
	Property string   `json:"property"`
	Message  string   `json:"message"`
	Name     string   `json:"name"`
	Stack    string   `json:"stack"`
}

// ValidationErrors is a failed validation; the API answers 400 with them.
type ValidationErrors struct {
	Errors []ValidationError
}

func (v *ValidationErrors) Error() string {
	msgs := make([]string, len(v.Errors))
	for i, e := range v.Errors {
		msgs[i] = e.Stack
	}
	return "invalid values: " + strings.Join(msgs, "; ")
}

// noLoader refuses every $ref outside the schema: templates must not make
// the server read files or fetch URLs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema references outside the template are not allowed (%s)", url)
}

// stripUI returns a copy of a schema without the react-jsonschema-form
// ui:* keys and Backstage's backstage:* keys, which are not JSON Schema.
func stripUI(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if strings.HasPrefix(k, "ui:") || strings.HasPrefix(k, "backstage:") {
				continue
			}
			out[k] = stripUI(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = stripUI(val)
		}
		return out
	}
	return v
}

// compileSchema compiles one JSON Schema given as decoded JSON.
func compileSchema(name string, schema any) (*jsonschema.Schema, error) {
	// Round-trip through JSON so numbers are what the compiler expects.
	raw, err := json.Marshal(stripUI(schema))
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%s: schema", name)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%s: schema", name)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft7)
	url := "mem:///" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fault.New(fault.Invalid, "%s: schema: %v", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fault.New(fault.Invalid, "%s: schema: %v", name, err)
	}
	return s, nil
}

var printer = message.NewPrinter(language.English)

// validate checks values against schema and returns ValidationErrors.
func validate(s *jsonschema.Schema, values map[string]any) error {
	raw, _ := json.Marshal(values)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return fault.Wrap(fault.Invalid, err, "values")
	}
	err = s.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fault.Wrap(fault.Invalid, err, "values")
	}
	out := &ValidationErrors{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			prop := "instance"
			if len(e.InstanceLocation) > 0 {
				prop += "." + strings.Join(e.InstanceLocation, ".")
			}
			msg := e.ErrorKind.LocalizedString(printer)
			out.Errors = append(out.Errors, ValidationError{
				Path: append([]string{}, e.InstanceLocation...), Property: prop, Message: msg,
				Name: kindName(e), Stack: prop + " " + msg,
			})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func kindName(e *jsonschema.ValidationError) string {
	kp := e.ErrorKind.KeywordPath()
	if len(kp) > 0 {
		return kp[len(kp)-1]
	}
	return "schema"
}
