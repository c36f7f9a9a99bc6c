package ui

import (
	"regexp"
	"strings"
)

// Widgets a Field is drawn with.
const (
	wText      = "text"
	wTextarea  = "textarea"
	wSecret    = "secret" // ui:field Secret, ui:widget password
	wHidden    = "hidden"
	wNumber    = "number"
	wCheckbox  = "checkbox"
	wSelect    = "select"
	wRadio     = "radio"
	wChecks    = "checkboxes" // an array of enum values
	wList      = "list"       // an array of strings or numbers
	wObject    = "object"
	wEntity    = "entity" // EntityPicker, OwnerPicker
	wTags      = "tags"   // EntityTagsPicker
	wRepoURL   = "repourl"
	wJSON      = "json" // anything else, as JSON text
	inputNS    = "v:"
	secretMask = "*"
)

// Field is one input of the form, with the state to draw it: its value,
// whether its condition hides it, and its error.
type Field struct {
	// Path is the property path from the page's root object.
	Path []string
	// Name is the input's name; ID its element id.
	Name, ID                              string
	Title, Description, Help, Placeholder string
	// Widget is how the field is drawn (the w* constants).
	Widget string
	// Type is the JSON Schema type ("string", "integer", "number", …).
	Type                      string
	Required, ReadOnly, Focus bool
	// MaxLength, Minimum and Maximum become input attributes; the server
	// checks every rule anyway.
	MaxLength        int
	Minimum, Maximum string
	Options          []Option
	// Fields are a nested object's fields.
	Fields []*Field
	Picker *Picker
	// Cond is set for a conditional field; Hidden when it does not hold.
	Cond   *Cond
	Hidden bool

	// The value: Value for inputs, Checked for a checkbox, Items for lists
	// and checkbox groups, Host/Owner/Repo for a repository.
	Value             string
	Checked           bool
	Items             []string
	Host, Owner, Repo string
	Error             string

	schema       map[string]any
	itemType     string
	defaultValue any
	hasDefault   bool
}

// Option is one choice of an enum.
type Option struct {
	Value, Label string
	Selected     bool
	raw          any
}

// Cond is a conditional field's condition, for the script: the input
// that controls it and the values that show it (none: any value).
type Cond struct {
	On     string
	Values []string
}

// Picker configures type-ahead for a field.
type Picker struct {
	// Field is the ui:field it came from (EntityPicker, OwnerPicker,
	// EntityTagsPicker, RepoUrlPicker).
	Field string
	// AllowedHosts are RepoUrlPicker's hosts, the first the default.
	AllowedHosts []string
	options      map[string]any
}

// Label is the field's title, or its property name.
func (f *Field) Label() string {
	if f.Title != "" {
		return f.Title
	}
	if len(f.Path) == 0 {
		return ""
	}
	return f.Path[len(f.Path)-1]
}

// Key is the property name (the secret's key for Secret fields).
func (f *Field) Key() string {
	if len(f.Path) == 0 {
		return ""
	}
	return f.Path[len(f.Path)-1]
}

// Secret reports whether the value goes into the task's secrets.
func (f *Field) Secret() bool { return f.Widget == wSecret }

// HelpID is the id of the element describing the field.
func (f *Field) HelpID() string { return f.ID + "-help" }

// ErrID is the id of the field's error message.
func (f *Field) ErrID() string { return f.ID + "-error" }

// inputName is the name of the input for a property path: "v:" and the
// path as a JSON Pointer without its leading slash.
func inputName(path []string) string {
	esc := make([]string, len(path))
	for i, p := range path {
		esc[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
	}
	return inputNS + strings.Join(esc, "/")
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func inputID(path []string) string {
	return "f-" + idUnsafe.ReplaceAllString(strings.Join(path, "-"), "_")
}

// newField describes one property; values and errors are filled later.
func newField(path []string, p prop) *Field {
	s := p.schema
	f := &Field{
		Path: path, Name: inputName(path), ID: inputID(path),
		Title: str(s, "title"), Description: str(s, "description"), Help: str(s, "ui:help"),
		Placeholder: str(s, "ui:placeholder"), Type: str(s, "type"),
		Required: p.required, schema: s,
	}
	if ro, _ := s["ui:readonly"].(bool); ro {
		f.ReadOnly = true
	}
	if ro, _ := s["ui:disabled"].(bool); ro {
		f.ReadOnly = true
	}
	if af, _ := s["ui:autofocus"].(bool); af {
		f.Focus = true
	}
	if n, ok := s["maxLength"].(float64); ok {
		f.MaxLength = int(n)
	}
	if n, ok := s["minimum"]; ok {
		f.Minimum = scalarString(n)
	}
	if n, ok := s["maximum"]; ok {
		f.Maximum = scalarString(n)
	}
	if d, ok := s["default"]; ok {
		f.defaultValue, f.hasDefault = d, true
	}
	if p.cond != nil {
		c := &Cond{On: inputName(append(append([]string{}, path[:len(path)-1]...), p.cond.on))}
		for _, v := range p.cond.values {
			c.Values = append(c.Values, scalarString(v))
		}
		f.Cond = c
	}
	opts := asMap(s["ui:options"])
	uiField, uiWidget := str(s, "ui:field"), str(s, "ui:widget")
	items := asMap(s["items"])
	switch {
	case uiField == "EntityPicker" || uiField == "OwnerPicker" || uiField == "OwnedEntityPicker" || uiField == "MyGroupsPicker":
		f.Widget, f.Picker = wEntity, &Picker{Field: uiField, options: opts}
	case uiField == "EntityTagsPicker":
		f.Widget, f.Picker, f.itemType = wTags, &Picker{Field: uiField, options: opts}, "string"
	case uiField == "RepoUrlPicker":
		f.Widget, f.Picker = wRepoURL, &Picker{Field: uiField, options: opts, AllowedHosts: allowedHosts(opts)}
	case uiField == "Secret" || uiWidget == "password":
		f.Widget = wSecret
	case uiWidget == "hidden":
		f.Widget = wHidden
	case f.Type == "object" || (f.Type == "" && s["properties"] != nil):
		f.Widget = wObject
	case f.Type == "array":
		switch it := str(items, "type"); {
		case items["enum"] != nil:
			f.Widget, f.itemType = wChecks, it
			f.Options = options(items["enum"], items["enumNames"])
		case it == "string" || it == "integer" || it == "number" || it == "":
			if it == "" && items["properties"] != nil {
				f.Widget = wJSON
				break
			}
			f.Widget, f.itemType = wList, it
			if f.itemType == "" {
				f.itemType = "string"
			}
		default:
			f.Widget = wJSON
		}
	case s["enum"] != nil:
		f.Widget = wSelect
		if uiWidget == "radio" {
			f.Widget = wRadio
		}
		f.Options = options(s["enum"], s["enumNames"])
	case f.Type == "boolean":
		f.Widget = wCheckbox
	case f.Type == "integer" || f.Type == "number":
		f.Widget = wNumber
	case uiWidget == "textarea":
		f.Widget = wTextarea
	default:
		f.Widget = wText
	}
	if f.Type == "" && f.Widget == wText {
		f.Type = "string"
	}
	if f.Picker != nil && f.Placeholder == "" {
		switch f.Widget {
		case wEntity:
			f.Placeholder = "Type to search the catalog"
		case wTags:
			f.Placeholder = "Add a tag"
		}
	}
	return f
}

// options are an enum's choices, labelled by enumNames when given.
func options(enum, names any) []Option {
	var out []Option
	labels := asList(names)
	for i, v := range asList(enum) {
		o := Option{Value: scalarString(v), Label: scalarString(v), raw: v}
		if i < len(labels) {
			o.Label = scalarString(labels[i])
		}
		out = append(out, o)
	}
	return out
}

// DefaultRepoHost is the host of Atrium's embedded git host in repoUrl
// values (publish:git ignores the host; the demo templates write
// "atrium?owner=…&repo=…").
const DefaultRepoHost = "atrium"

func allowedHosts(opts map[string]any) []string {
	hosts := asStrings(opts["allowedHosts"])
	if len(hosts) == 0 {
		return []string{DefaultRepoHost}
	}
	return hosts
}

// OptionSelected reports whether o is among the field's selected values
// (for checkboxes).
func (f *Field) OptionSelected(o Option) bool {
	for _, v := range f.Items {
		if v == o.Value {
			return true
		}
	}
	return false
}

// ItemsOrBlank are the list's items plus one blank input to add another
// without JavaScript.
func (f *Field) ItemsOrBlank() []string {
	if f.ReadOnly {
		return f.Items
	}
	return append(append([]string{}, f.Items...), "")
}

// InputType is the type attribute of a text-like input.
func (f *Field) InputType() string {
	switch {
	case f.Widget == wSecret:
		return "password"
	case f.Widget == wNumber || (f.Widget == wList && (f.itemType == "integer" || f.itemType == "number")):
		return "number"
	}
	return "text"
}

// Step is the step attribute of a number input.
func (f *Field) Step() string {
	if f.Type == "integer" || f.itemType == "integer" {
		return "1"
	}
	return "any"
}

// PickerKind says what the type-ahead suggests: "entities", "tags".
func (f *Field) PickerKind() string {
	switch f.Widget {
	case wEntity:
		return "entities"
	case wTags:
		return "tags"
	case wRepoURL:
		return "owners"
	}
	return ""
}
