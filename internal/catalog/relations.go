package catalog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The relation types, spelled as Backstage spells them.
const (
	RelationOwnedBy       = "ownedBy"
	RelationOwnerOf       = "ownerOf"
	RelationPartOf        = "partOf"
	RelationHasPart       = "hasPart"
	RelationProvidesAPI   = "providesApi"
	RelationAPIProvidedBy = "apiProvidedBy"
	RelationConsumesAPI   = "consumesApi"
	RelationAPIConsumedBy = "apiConsumedBy"
	RelationDependsOn     = "dependsOn"
	RelationDependencyOf  = "dependencyOf"
	RelationMemberOf      = "memberOf"
	RelationHasMember     = "hasMember"
	RelationChildOf       = "childOf"
	RelationParentOf      = "parentOf"
)

// relationField is a spec field that generates a relation pair.
type relationField struct {
	field       string
	forward     string
	inverse     string
	defaultKind string // "" when the reference must name its kind
}

var (
	ownerRelation  = relationField{"owner", RelationOwnedBy, RelationOwnerOf, "Group"}
	systemRelation = relationField{"system", RelationPartOf, RelationHasPart, "System"}
	dependsOn      = relationField{"dependsOn", RelationDependsOn, RelationDependencyOf, ""}
	dependencyOf   = relationField{"dependencyOf", RelationDependencyOf, RelationDependsOn, ""}
)

// kindRelations lists, by lowercased kind, the fields of backstage.md §1.6.
var kindRelations = map[string][]relationField{
	"component": {
		ownerRelation, systemRelation,
		{"subcomponentOf", RelationPartOf, RelationHasPart, "Component"},
		{"providesApis", RelationProvidesAPI, RelationAPIProvidedBy, "API"},
		{"consumesApis", RelationConsumesAPI, RelationAPIConsumedBy, "API"},
		dependsOn, dependencyOf,
	},
	"api":      {ownerRelation, systemRelation},
	"resource": {ownerRelation, systemRelation, dependsOn, dependencyOf},
	"system":   {ownerRelation, {"domain", RelationPartOf, RelationHasPart, "Domain"}},
	"domain":   {ownerRelation, {"subdomainOf", RelationPartOf, RelationHasPart, "Domain"}},
	"group": {
		{"parent", RelationChildOf, RelationParentOf, "Group"},
		{"children", RelationParentOf, RelationChildOf, "Group"},
		{"members", RelationHasMember, RelationMemberOf, "User"},
	},
	"user":     {{"memberOf", RelationMemberOf, RelationHasMember, "Group"}},
	"template": {ownerRelation},
}

// Relations returns the relation rows an entity's spec produces: for each
// reference a forward row (Source is the entity) and its inverse (Target is
// the entity), deduplicated, in spec order. References default to the
// entity's namespace and the field's default kind. A reference that does
// not parse is a problem pointing at its field; the other rows are still
// returned.
func Relations(e *Entity) ([]RelationRow, Problems) {
	fields := kindRelations[strings.ToLower(e.Kind)]
	if len(fields) == 0 || e.Spec == nil {
		return nil, nil
	}
	self := e.Ref()
	selfRef := self.String()
	var rows []RelationRow
	var problems Problems
	var seen map[RelationRow]struct{} // only for entities with many references
	add := func(r RelationRow) {
		if seen != nil {
			if _, dup := seen[r]; dup {
				return
			}
			seen[r] = struct{}{}
		} else {
			if slices.Contains(rows, r) {
				return
			}
			if len(rows) >= 32 {
				seen = make(map[RelationRow]struct{}, 2*len(rows))
				for _, row := range rows {
					seen[row] = struct{}{}
				}
				seen[r] = struct{}{}
			}
		}
		rows = append(rows, r)
	}
	emit := func(path, value string, f relationField) {
		target, err := ParseRef(value, RefDefaults{Kind: f.defaultKind, Namespace: self.Namespace})
		if err != nil {
			msg := err.Error()
			if f.defaultKind == "" && !strings.Contains(value, ":") {
				msg = fmt.Sprintf("entity reference %q must name its kind, e.g. \"component:%s\"", value, value)
			}
			problems = append(problems, Problem{Field: path, Message: msg})
			return
		}
		t := target.String()
		add(RelationRow{Source: selfRef, Type: f.forward, Target: t})
		add(RelationRow{Source: t, Type: f.inverse, Target: selfRef})
	}
	for _, f := range fields {
		x, present := e.Spec[f.field]
		if !present || x == nil {
			continue
		}
		path := "spec." + f.field
		switch t := x.(type) {
		case string:
			emit(path, t, f)
		case []any:
			for i, item := range t {
				s, ok := item.(string)
				if !ok {
					problems = append(problems, Problem{Field: path + "." + strconv.Itoa(i), Message: "entity reference must be a string, found " + typeName(item)})
					continue
				}
				emit(path+"."+strconv.Itoa(i), s, f)
			}
		default:
			problems = append(problems, Problem{Field: path, Message: "entity reference must be a string or a list of strings, found " + typeName(x)})
		}
	}
	return rows, problems
}
