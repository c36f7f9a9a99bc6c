package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldType is the shape a spec field must have.
type fieldType int

const (
	tString       fieldType = iota // any string
	tNonEmpty                      // a string of at least one character
	tStringList                    // a list of non-empty strings
	tObject                        // an object
	tList                          // a list of anything
	tObjectOrList                  // an object or a list
	tPresence                      // "required" or "optional"
	tProfile                       // {displayName?, email?, picture?} and any other keys
)

type specField struct {
	name     string
	typ      fieldType
	required bool
}

// kindSpec describes a built-in kind: its accepted apiVersions and the spec
// fields its validator checks (backstage.md §1.5, §4.1). Other spec keys
// are allowed.
type kindSpec struct {
	name        string // as Backstage spells it
	apiVersions []string
	fields      []specField
}

var builtinAPIVersions = []string{APIVersionV1Alpha1, APIVersionV1Beta1}

// builtinKinds is keyed by the lowercased kind.
var builtinKinds = map[string]kindSpec{
	"component": {name: "Component", apiVersions: builtinAPIVersions, fields: []specField{
		{"type", tNonEmpty, true}, {"lifecycle", tNonEmpty, true}, {"owner", tNonEmpty, true},
		{"system", tNonEmpty, false}, {"subcomponentOf", tNonEmpty, false},
		{"providesApis", tStringList, false}, {"consumesApis", tStringList, false},
		{"dependsOn", tStringList, false}, {"dependencyOf", tStringList, false},
	}},
	"api": {name: "API", apiVersions: builtinAPIVersions, fields: []specField{
		{"type", tNonEmpty, true}, {"lifecycle", tNonEmpty, true}, {"owner", tNonEmpty, true},
		{"definition", tNonEmpty, true}, {"system", tNonEmpty, false},
	}},
	"resource": {name: "Resource", apiVersions: builtinAPIVersions, fields: []specField{
		{"type", tNonEmpty, true}, {"owner", tNonEmpty, true}, {"system", tNonEmpty, false},
		{"dependsOn", tStringList, false}, {"dependencyOf", tStringList, false},
	}},
	"system": {name: "System", apiVersions: builtinAPIVersions, fields: []specField{
		{"owner", tNonEmpty, true}, {"domain", tNonEmpty, false}, {"type", tString, false},
	}},
	"domain": {name: "Domain", apiVersions: builtinAPIVersions, fields: []specField{
		{"owner", tNonEmpty, true}, {"subdomainOf", tNonEmpty, false}, {"type", tString, false},
	}},
	"group": {name: "Group", apiVersions: builtinAPIVersions, fields: []specField{
		{"type", tNonEmpty, true}, {"profile", tProfile, false}, {"parent", tNonEmpty, false},
		{"children", tStringList, true}, {"members", tStringList, false},
	}},
	"user": {name: "User", apiVersions: builtinAPIVersions, fields: []specField{
		{"profile", tProfile, false}, {"memberOf", tStringList, true},
	}},
	"location": {name: "Location", apiVersions: builtinAPIVersions, fields: []specField{
		{"type", tNonEmpty, false}, {"target", tNonEmpty, false}, {"targets", tStringList, false},
		{"presence", tPresence, false},
	}},
	"template": {name: "Template", apiVersions: []string{APIVersionScaffolder}, fields: []specField{
		{"type", tNonEmpty, true}, {"steps", tList, true}, {"parameters", tObjectOrList, false},
		{"owner", tNonEmpty, false}, {"lifecycle", tString, false}, {"output", tObject, false},
	}},
}

// IsBuiltinKind reports whether kind (in any case) is one of the kinds the
// catalog validates itself.
func IsBuiltinKind(kind string) bool {
	_, ok := builtinKinds[strings.ToLower(kind)]
	return ok
}

// kind checks the spec of a built-in kind.
func (v *validator) kind(e *Entity) {
	ks, ok := builtinKinds[strings.ToLower(e.Kind)]
	if !ok {
		return
	}
	if e.Kind != ks.name {
		v.add("kind", fmt.Sprintf("kind %q must be spelled %q", e.Kind, ks.name))
		return
	}
	accepted := false
	for _, av := range ks.apiVersions {
		if e.APIVersion == av {
			accepted = true
		}
	}
	if !accepted {
		v.add("apiVersion", fmt.Sprintf("kind %s needs apiVersion %s, found %q", ks.name, strings.Join(ks.apiVersions, " or "), e.APIVersion))
		return
	}
	if e.Spec == nil {
		v.add("spec", "required")
		return
	}
	for _, f := range ks.fields {
		v.specField(e.Spec, f)
	}
}

func (v *validator) specField(spec map[string]any, f specField) {
	path := "spec." + f.name
	x, present := spec[f.name]
	if !present || x == nil {
		if f.required {
			v.add(path, "required")
		}
		return
	}
	switch f.typ {
	case tString:
		if _, ok := x.(string); !ok {
			v.add(path, "must be a string, found "+typeName(x))
		}
	case tNonEmpty:
		s, ok := x.(string)
		switch {
		case !ok && isPlaceholder(x):
			v.add(path, "must be a string; its placeholder was not resolved")
		case !ok:
			v.add(path, "must be a string, found "+typeName(x))
		case s == "":
			v.add(path, "must not be empty")
		}
	case tStringList:
		items, ok := x.([]any)
		if !ok {
			v.add(path, "must be a list of strings, found "+typeName(x))
			return
		}
		for i, item := range items {
			if s, ok := item.(string); !ok || s == "" {
				v.add(path+"."+strconv.Itoa(i), "must be a non-empty string, found "+typeName(item))
			}
		}
	case tObject:
		if _, ok := x.(map[string]any); !ok {
			v.add(path, "must be an object, found "+typeName(x))
		}
	case tList:
		if _, ok := x.([]any); !ok {
			v.add(path, "must be a list, found "+typeName(x))
		}
	case tObjectOrList:
		switch x.(type) {
		case map[string]any, []any:
		default:
			v.add(path, "must be an object or a list, found "+typeName(x))
		}
	case tPresence:
		if s, ok := x.(string); !ok || (s != "required" && s != "optional") {
			v.add(path, fmt.Sprintf("must be \"required\" or \"optional\", found %q", display(x)))
		}
	case tProfile:
		m, ok := x.(map[string]any)
		if !ok {
			v.add(path, "must be an object, found "+typeName(x))
			return
		}
		for _, k := range []string{"displayName", "email", "picture"} {
			if y, present := m[k]; present && y != nil {
				if _, ok := y.(string); !ok {
					v.add(path+"."+k, "must be a string, found "+typeName(y))
				}
			}
		}
	}
}

// isPlaceholder reports whether x is a {$text|$json|$yaml: ...} object.
func isPlaceholder(x any) bool {
	m, ok := x.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "$text" || k == "$json" || k == "$yaml"
	}
	return false
}
