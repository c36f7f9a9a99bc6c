package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
)

var printer = message.NewPrinter(language.English)

// ValidateConfig checks a plugin's configuration (plugins.<id>.config,
// as JSON; nil when absent) against info.ConfigSchema. The error is a
// fault.Invalid listing every problem by its key in app-config:
// "plugins.hello.config.refresh: does not match pattern …". A plugin
// without a schema accepts only an empty configuration. Built-in and
// external plugins are validated alike.
func ValidateConfig(info plugin.Info, raw json.RawMessage) error {
	base := "plugins." + info.ID + ".config"
	empty := len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
	if len(info.ConfigSchema) == 0 {
		if empty || string(bytes.TrimSpace(raw)) == "{}" {
			return nil
		}
		return fault.New(fault.Invalid, "%s: plugin %s takes no configuration; remove this key", base, info.ID)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(info.ConfigSchema))
	if err != nil {
		return fault.Wrap(fault.Invalid, err, "plugin %s: its configuration schema is not JSON", info.ID)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	url := "mem:///plugins/" + info.ID + "/config.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		return fault.New(fault.Invalid, "plugin %s: its configuration schema: %v", info.ID, err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		return fault.New(fault.Invalid, "plugin %s: its configuration schema does not compile: %v", info.ID, err)
	}
	if empty {
		raw = json.RawMessage("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fault.Wrap(fault.Invalid, err, "%s: not a JSON value", base)
	}
	err = schema.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fault.Wrap(fault.Invalid, err, "%s", base)
	}
	var msgs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		key := base
		if len(e.InstanceLocation) > 0 {
			key += "." + strings.Join(e.InstanceLocation, ".")
		}
		msgs = append(msgs, key+": "+e.ErrorKind.LocalizedString(printer))
	}
	walk(ve)
	return fault.New(fault.Invalid, "%s", strings.Join(msgs, "; "))
}

// noLoader refuses $refs outside the schema: loading a plugin's
// configuration never reads files or fetches URLs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("references outside the schema are not allowed (%s)", url)
}
