// Package ui is the scaffolder's part of the portal: the template gallery
// (GET /create), each template's form rendered from its parameter schema
// (GET and POST /create/templates/{namespace}/{name}) with a multi-page
// stepper, server-side validation and a review page, and the type-ahead
// endpoint its pickers use. Creating a task redirects to
// /create/tasks/{id}, served by package taskui.
//
// The pages are plain HTML forms that work without JavaScript; the small
// script create-form.js only enhances them (conditional fields shown and
// hidden as values change, array items added and removed, picker
// suggestions). The server evaluates the same conditions and validates
// every page with the JSON Schema library the scaffolder uses.
package ui
