// Package scaffolder runs Backstage software templates
// (scaffolder.backstage.io/v1beta3): it reads Template entities from the
// catalog, validates parameters against their JSON Schema, and runs tasks —
// a sequence of steps, each an action from the Registry, templated with
// package tmpl — durably on River, one step at a time, persisting each
// step's state, output and log so that a task resumes after a restart
// from its first unfinished step.
package scaffolder
