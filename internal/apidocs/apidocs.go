// Package apidocs renders API entities' definitions for the portal: OpenAPI
// 3 (and Swagger 2) as operations grouped by tag with parameters and schema
// trees, AsyncAPI 2 and 3 as channels with their messages, GraphQL SDL and
// gRPC proto with syntax highlighting, anything else as escaped text.
//
// Definitions are user input: every string is escaped by html/template,
// descriptions go through the markdown package's sanitiser, and the size of
// what is parsed and shown is bounded by Limits.
package apidocs

import (
	"bytes"
	"embed"
	"html/template"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Limits bound the work of rendering one definition.
type Limits struct {
	// MaxBytes is the largest definition rendered at all.
	MaxBytes int
	// MaxNodes bounds the YAML/JSON values parsed, aliases expanded.
	MaxNodes int
	// MaxOperations bounds the operations (or channels) shown.
	MaxOperations int
	// MaxSchemaNodes bounds the schema tree nodes shown, in total.
	MaxSchemaNodes int
	// MaxSchemaDepth bounds the nesting of one schema tree.
	MaxSchemaDepth int
	// MaxHighlightBytes is the largest GraphQL or proto text highlighted;
	// larger ones are shown as plain escaped text.
	MaxHighlightBytes int
}

// DefaultLimits are the limits Render uses.
var DefaultLimits = Limits{
	MaxBytes:          8 << 20,
	MaxNodes:          2_000_000,
	MaxOperations:     1000,
	MaxSchemaNodes:    20_000,
	MaxSchemaDepth:    12,
	MaxHighlightBytes: 1 << 20,
}

// StylesheetPath is where the portal serves the styles of rendered
// definitions; Render's output links it.
const StylesheetPath = "/static/apidocs.css"

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("apidocs").Funcs(template.FuncMap{"statusClass": statusClass}).ParseFS(templateFS, "templates/*.html"))

// Render renders an API definition of the given spec.type (openapi,
// asyncapi, graphql, grpc; anything else is shown as text) with
// DefaultLimits.
func Render(apiType string, definition string) (template.HTML, error) {
	k := cacheKey(apiType, definition)
	if h, ok := shared.get(k); ok {
		return h, nil
	}
	h, err := Renderer{Limits: DefaultLimits}.Render(apiType, definition)
	if err == nil {
		shared.put(k, h)
	}
	return h, err
}

// shared caches Render's results: 32 MB of HTML.
var shared = newCache(32 << 20)

// Renderer renders definitions with its own limits.
type Renderer struct {
	Limits Limits
}

// Render renders a definition. A definition over Limits.MaxBytes fails with
// fault.TooLarge; one that does not parse renders as a notice that says
// where it is broken, followed by the text itself.
func (r Renderer) Render(apiType string, definition string) (template.HTML, error) {
	lim := r.Limits
	if lim.MaxBytes > 0 && len(definition) > lim.MaxBytes {
		return "", fault.New(fault.TooLarge, "the API definition is %d bytes, over the limit of %d", len(definition), lim.MaxBytes)
	}
	var name string
	var data any
	switch strings.ToLower(strings.TrimSpace(apiType)) {
	case "openapi", "swagger":
		root, err := decode(definition, lim.MaxNodes)
		switch {
		case err != nil:
			name, data = "apidoc-broken", broken{Kind: "OpenAPI", Err: err.Error(), Text: definition}
		case root.str("openapi") == "" && root.str("swagger") == "":
			name, data = "apidoc-broken", broken{Kind: "OpenAPI", Err: "the document has no openapi (or swagger) version key", Text: definition}
		default:
			name, data = "apidoc-openapi", uniqueAnchors(openAPI(root, lim))
		}
	case "asyncapi":
		root, err := decode(definition, lim.MaxNodes)
		switch {
		case err != nil:
			name, data = "apidoc-broken", broken{Kind: "AsyncAPI", Err: err.Error(), Text: definition}
		case root.str("asyncapi") == "":
			name, data = "apidoc-broken", broken{Kind: "AsyncAPI", Err: "the document has no asyncapi version key", Text: definition}
		default:
			name, data = "apidoc-asyncapi", asyncAPI(root, lim)
		}
	case "graphql":
		name, data = "apidoc-code", code{Lang: "graphql", Label: "GraphQL schema", HTML: r.highlight(definition, graphqlLang)}
	case "grpc", "proto", "protobuf":
		name, data = "apidoc-code", code{Lang: "proto", Label: "Protocol Buffers", HTML: r.highlight(definition, protoLang)}
	default:
		name, data = "apidoc-plain", plain{Type: apiType, Text: definition}
	}
	var buf bytes.Buffer
	buf.WriteString(`<link rel="stylesheet" href="` + StylesheetPath + `">`)
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fault.Wrap(fault.Internal, err, "rendering the API definition")
	}
	return template.HTML(buf.String()), nil //nolint:gosec // produced by html/template
}

func (r Renderer) highlight(src string, lang language) template.HTML {
	if r.Limits.MaxHighlightBytes > 0 && len(src) > r.Limits.MaxHighlightBytes {
		return template.HTML(template.HTMLEscapeString(src)) //nolint:gosec // escaped
	}
	return highlight(src, lang)
}

type broken struct {
	Kind, Err, Text string
}

type code struct {
	Lang, Label string
	HTML        template.HTML
}

type plain struct {
	Type, Text string
}

// uniqueAnchors makes operation anchors unique within the document.
func uniqueAnchors(d *openAPIDoc) *openAPIDoc {
	used := map[string]int{}
	for _, g := range d.Groups {
		for _, op := range g.Ops {
			if n := used[op.Anchor]; n > 0 {
				used[op.Anchor]++
				op.Anchor += "-" + strconv.Itoa(n+1)
				continue
			}
			used[op.Anchor] = 1
		}
	}
	return d
}

// statusClass is the class suffix of a response code: 2, 4, 5 or x.
func statusClass(code string) string {
	if code != "" && code[0] >= '1' && code[0] <= '5' {
		return code[:1]
	}
	return "x"
}
