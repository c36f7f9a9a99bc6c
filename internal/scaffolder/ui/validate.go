package ui

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// noLoader refuses $refs outside the page: a template must not make the
// server read files or fetch URLs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema references outside the template are not allowed (%s)", url)
}

var printer = message.NewPrinter(language.English)

// validatePage checks one page's values against the page's effective
// schema (its conditions evaluated for these values) and returns the
// errors by input name; "" holds errors no field of the page owns.
func validatePage(s map[string]any, values map[string]any) (map[string]string, error) {
	vals := pageValues(s, values)
	raw, err := json.Marshal(effective(s, vals))
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource("mem:///page.json", doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile("mem:///page.json")
	if err != nil {
		return nil, fmt.Errorf("the page's schema: %w", err)
	}
	rawVals, _ := json.Marshal(vals)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(rawVals)))
	if err != nil {
		return nil, err
	}
	errs := map[string]string{}
	verr, ok := sch.Validate(inst).(*jsonschema.ValidationError)
	if !ok {
		return errs, nil
	}
	names := fieldNames(s, nil, map[string]bool{})
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range req.Missing {
				addErr(errs, names, append(append([]string{}, e.InstanceLocation...), m), "This field is required.")
			}
			return
		}
		addErr(errs, names, e.InstanceLocation, errMessage(e))
	}
	walk(verr)
	return errs, nil
}

// fieldNames are the input names of every field a schema draws, so that
// an error deep inside a value finds the field that holds it.
func fieldNames(s map[string]any, path []string, out map[string]bool) map[string]bool {
	for _, p := range objectProps(s) {
		fp := append(append([]string{}, path...), p.name)
		out[inputName(fp)] = true
		if str(p.schema, "type") == "object" || p.schema["properties"] != nil {
			fieldNames(p.schema, fp, out)
		}
	}
	return out
}

// addErr attaches msg to the field at path, or to the nearest field
// holding it ("Item 2: …" for an array item).
func addErr(errs map[string]string, names map[string]bool, path []string, msg string) {
	for n := len(path); n > 0; n-- {
		name := inputName(path[:n])
		if !names[name] {
			continue
		}
		if n < len(path) {
			msg = "At " + itemLabel(path[n:]) + ": " + lowerFirst(msg)
		}
		if _, set := errs[name]; !set {
			errs[name] = msg
		}
		return
	}
	where := "The values"
	if len(path) > 0 {
		where = strings.Join(path, ".")
	}
	if prev := errs[""]; prev != "" {
		errs[""] = prev + " " + where + ": " + msg
	} else {
		errs[""] = where + ": " + msg
	}
}

func itemLabel(rest []string) string {
	parts := make([]string, len(rest))
	for i, r := range rest {
		var n int
		if _, err := fmt.Sscanf(r, "%d", &n); err == nil && fmt.Sprint(n) == r {
			parts[i] = fmt.Sprintf("item %d", n+1)
		} else {
			parts[i] = r
		}
	}
	return strings.Join(parts, ", ")
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// errMessage says what is wrong in words a form shows under a field.
func errMessage(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Pattern:
		return fmt.Sprintf("Must match the pattern %s.", k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("Must be at least %d characters long.", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("Must be at most %d characters long.", k.Want)
	case *kind.Minimum:
		return fmt.Sprintf("Must be at least %s.", k.Want.RatString())
	case *kind.Maximum:
		return fmt.Sprintf("Must be at most %s.", k.Want.RatString())
	case *kind.MinItems:
		return fmt.Sprintf("Needs at least %d %s.", k.Want, plural(k.Want, "item", "items"))
	case *kind.MaxItems:
		return fmt.Sprintf("Takes at most %d %s.", k.Want, plural(k.Want, "item", "items"))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = scalarString(w)
		}
		return "Must be one of: " + strings.Join(want, ", ") + "."
	case *kind.Type:
		return fmt.Sprintf("Must be %s, not %s.", strings.Join(k.Want, " or "), k.Got)
	case *kind.UniqueItems:
		return fmt.Sprintf("Items %d and %d are the same.", k.Duplicates[0]+1, k.Duplicates[1]+1)
	}
	msg := e.ErrorKind.LocalizedString(printer)
	if msg == "" {
		return "Invalid value."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
