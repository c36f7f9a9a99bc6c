package ui

import (
	"context"
	"html/template"

	"github.com/atrium-portal/atrium/internal/apidocs"
)

// renderDefinition renders an API definition with the apidocs package
// (OpenAPI operations, AsyncAPI channels, highlighted GraphQL and gRPC).
// When that fails, the raw definition shows, escaped, in a <pre>.
func (u *UI) renderDefinition(ctx context.Context, apiType, def string) template.HTML {
	h, err := apidocs.Render(apiType, def)
	if err == nil {
		return h
	}
	u.log.WarnContext(ctx, "rendering an API definition", "type", apiType, "error", err.Error())
	b, err := u.body("api-raw", def)
	if err != nil {
		return ""
	}
	return b
}
