// Package authz decides what a principal may do: permissions named like
// Backstage's, policies written as YAML with CEL conditions, decisions for one
// resource, and conditions turned into catalog filters so that list and query
// endpoints return exactly what a policy allows.
package authz

import (
	"slices"
	"strings"
)

// The resource types of permissions, as Backstage names them.
const (
	ResourceEntity   = "catalog-entity"
	ResourceTemplate = "scaffolder-template"
	ResourceAction   = "scaffolder-action"
	ResourceTask     = "scaffolder-task"
)

// Permission is a named action that a policy allows or denies.
type Permission struct {
	// Name is Backstage's permission name, such as "catalog.entity.read".
	Name string
	// ResourceType is the type of resource the permission is about, or ""
	// for a basic permission (Backstage's `type: basic`).
	ResourceType string
	// Action is Backstage's attributes.action: create, read, update, delete
	// or "" when the permission has none.
	Action string
	// EntityConditions reports whether conditions on `resource` are
	// evaluated against catalog entities: the entity itself for
	// catalog-entity permissions, and every entity a location holds for the
	// location permissions that change the catalog.
	EntityConditions bool
	// Description says what the permission guards, for the permissions page.
	Description string
}

// Permissions is every permission Atrium knows, in display order.
var Permissions = []Permission{
	{Name: "catalog.entity.read", ResourceType: ResourceEntity, Action: "read", EntityConditions: true, Description: "See an entity in lists, searches, facets and by name"},
	{Name: "catalog.entity.create", Action: "create", EntityConditions: true, Description: "Create an entity (scaffolder catalog:register); conditions apply to the new entity"},
	{Name: "catalog.entity.delete", ResourceType: ResourceEntity, Action: "delete", EntityConditions: true, Description: "Delete an entity"},
	{Name: "catalog.entity.refresh", ResourceType: ResourceEntity, Action: "update", EntityConditions: true, Description: "Ask for an entity to be refreshed"},
	{Name: "catalog.location.read", Action: "read", Description: "List and read registered locations"},
	{Name: "catalog.location.create", Action: "create", EntityConditions: true, Description: "Register a location; conditions apply to every entity it holds"},
	{Name: "catalog.location.delete", Action: "delete", EntityConditions: true, Description: "Unregister a location; conditions apply to every entity it holds"},
	{Name: "scaffolder.template.parameter.read", ResourceType: ResourceTemplate, Action: "read", Description: "See a template's parameters"},
	{Name: "scaffolder.template.step.read", ResourceType: ResourceTemplate, Action: "read", Description: "See a template's steps"},
	{Name: "scaffolder.action.execute", ResourceType: ResourceAction, Description: "Run a scaffolder action"},
	{Name: "scaffolder.task.create", Action: "create", Description: "Start a template run"},
	{Name: "scaffolder.task.read", ResourceType: ResourceTask, Action: "read", Description: "Read a template run and its logs"},
	{Name: "scaffolder.task.cancel", ResourceType: ResourceTask, Action: "update", Description: "Cancel a template run"},
	{Name: "atrium.admin.audit.read", Action: "read", Description: "Read and export the audit log"},
	{Name: "atrium.admin.tokens.manage", Action: "update", Description: "List and revoke other people's API tokens and sessions"},
	{Name: "atrium.admin.policy.read", Action: "read", Description: "See the policy, its roles and bindings, and anyone's effective permissions"},
	{Name: "atrium.admin.policy.refresh", Action: "update", Description: "Read the policy files and URLs again now (POST /api/permission/policies/refresh)"},
	{Name: "atrium.admin.secrets.manage", Action: "update", Description: "Rotate the encryption key of stored secrets"},
	{Name: "atrium.admin.plugins.read", Action: "read", Description: "See the plugins page and GET /api/plugins: health, memory, calls, the registry's compatibility matrix"},
	{Name: "atrium.admin.plugins.manage", Action: "update", Description: "Restart an external plugin (POST /api/plugins/{id}/restart)"},
	{Name: "atrium.admin.operations.read", Action: "read", Description: "Scrape /metrics and see the backups page"},
	{Name: "atrium.admin.operations.manage", Action: "update", Description: "Start a backup now (POST /api/atrium/backups) and cancel any long-running operation (POST /api/atrium/operations/{id}/cancel)"},
}

// Lookup returns the permission named name.
func Lookup(name string) (Permission, bool) {
	i := slices.IndexFunc(Permissions, func(p Permission) bool { return p.Name == name })
	if i < 0 {
		return Permission{}, false
	}
	return Permissions[i], true
}

// matchPermission reports whether pattern names perm: an exact name, "*"
// for every permission, or a prefix ending in ".*" ("catalog.*").
func matchPermission(pattern, perm string) bool {
	if pattern == "*" || pattern == perm {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasSuffix(prefix, ".") {
		return strings.HasPrefix(perm, prefix)
	}
	return false
}

// validPermissionPattern reports whether pattern names at least one known
// permission.
func validPermissionPattern(pattern string) bool {
	return slices.ContainsFunc(Permissions, func(p Permission) bool { return matchPermission(pattern, p.Name) })
}
