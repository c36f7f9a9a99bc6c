package apidocs

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"

	"github.com/atrium-portal/atrium/internal/demo"
	"github.com/atrium-portal/atrium/internal/fault"
)

// demoDefinitions returns the demo catalog's API definitions by name, with
// their types; $text definitions are read from the files they name.
func demoDefinitions(tb testing.TB) map[string][2]string {
	tb.Helper()
	files := demo.Files()
	raw, err := fs.ReadFile(files, "apis.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][2]string{}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	for {
		var e struct {
			Metadata struct{ Name string }
			Spec     struct {
				Type       string
				Definition any
			}
		}
		if err := dec.Decode(&e); err != nil {
			break
		}
		def := ""
		switch d := e.Spec.Definition.(type) {
		case string:
			def = d
		case map[string]any:
			p, _ := d["$text"].(string)
			b, err := fs.ReadFile(files, strings.TrimPrefix(p, "./"))
			if err != nil {
				tb.Fatalf("%s: %v", e.Metadata.Name, err)
			}
			def = string(b)
		}
		out[e.Metadata.Name] = [2]string{e.Spec.Type, def}
	}
	if len(out) < 10 {
		tb.Fatalf("got %d demo APIs, want at least 10", len(out))
	}
	return out
}

func render(tb testing.TB, typ, def string) string {
	tb.Helper()
	h, err := Render(typ, def)
	if err != nil {
		tb.Fatalf("Render(%s): %v", typ, err)
	}
	return string(h)
}

func TestRenderDemoDefinitions(t *testing.T) {
	defs := demoDefinitions(t)
	tests := []struct {
		api  string
		want []string
	}{
		{"orders-api", []string{`apidoc-method-POST`, `<code class="apidoc-path">/orders/{orderId}</code>`, `<code>createOrder</code>`, `href="#schema-NewOrder"`, `<code class="apidoc-prop">customerId</code>`, "all of", `id="op-getorder"`}},
		{"tracking-api", []string{"Tracking API", "apidoc-method-GET"}},
		{"tracking-events", []string{"AsyncAPI 2.6.0", "<code>shipment-events</code>", "apidoc-action-subscribe", "ScanEvent", `<code class="apidoc-prop">parcelNumber</code>`, "<code>in_transit</code>"}},
		{"stock-levels-api", []string{`<span class="tok-kw">type</span> <span class="tok-type">Query</span>`, `<span class="tok-type">ID</span>!`}},
		{"route-planner-api", []string{`<span class="tok-kw">service</span>`, `<span class="tok-com">// PlanRoute orders`, `<span class="tok-str">&#34;proto3&#34;</span>`, `<span class="tok-type">double</span>`}},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			d, ok := defs[tt.api]
			if !ok {
				t.Fatalf("no demo API %s", tt.api)
			}
			got := render(t, d[0], d[1])
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got no %q in the rendered %s", w, tt.api)
				}
			}
			if strings.Contains(got, "apidoc-broken") || strings.Contains(got, "cannot be read") {
				t.Errorf("got a broken-definition notice for %s", tt.api)
			}
		})
	}
	for name, d := range defs {
		got := render(t, d[0], d[1])
		if strings.Contains(got, "cannot be read") {
			t.Errorf("demo API %s: got a broken-definition notice", name)
		}
		assertSafe(t, got)
	}
}

const hostileOpenAPI = `openapi: 3.0.0
info:
  title: "<img src=x onerror=alert(1)>"
  version: "1"
  description: "Hi <script>alert(2)</script> [click](javascript:alert(3)) <a href='javascript:alert(4)'>a</a>"
servers:
  - url: "javascript:alert(5)"
tags:
  - name: "</code><script>alert(6)</script>"
paths:
  "/x\"><script>alert(7)</script>":
    get:
      tags: ["</code><script>alert(6)</script>"]
      operationId: "\"><svg onload=alert(8)>"
      summary: "<b onmouseover=alert(9)>hi</b>"
      parameters:
        - name: "<script>alert(10)</script>"
          in: query
          description: "<iframe src=javascript:alert(11)>"
          schema: { type: string, enum: ["<script>alert(12)</script>"] }
      responses:
        "200<script>":
          description: ok
          content:
            "text/html<script>":
              schema:
                type: object
                properties:
                  "<script>alert(13)</script>": { type: string, description: "[x](javascript:alert(14))" }
`

func TestRenderHostile(t *testing.T) {
	tests := []struct{ typ, def string }{
		{"openapi", hostileOpenAPI},
		{"asyncapi", "asyncapi: 2.6.0\ninfo: {title: \"<script>alert(1)</script>\", version: '1', description: \"[x](javascript:alert(2))\"}\nchannels:\n  \"<script>alert(3)</script>\":\n    publish:\n      message: {name: \"<img src=x onerror=alert(4)>\", payload: {type: string, description: \"<script>alert(5)</script>\"}}\n"},
		{"graphql", "type Q { a: String } # </code><script>alert(1)</script>\n\"\"\"<script>alert(2)</script>\"\"\""},
		{"grpc", "message A { string b = 1; } // </pre><script>alert(1)</script>\n/* <img src=x onerror=alert(2)> */ \"<script>\""},
		{"something", "<script>alert(1)</script> <img src=x onerror=alert(2)>"},
		{"openapi", "openapi: [<script>alert(1)</script>"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d-%s", i, tt.typ), func(t *testing.T) {
			assertSafe(t, render(t, tt.typ, tt.def))
		})
	}
}

// assertSafe parses s as HTML and fails on any element or attribute that
// could run script: script, iframe, object, embed, svg, img, on* handlers,
// and javascript: or data: URLs.
func assertSafe(tb testing.TB, s string) {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		tb.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "iframe", "object", "embed", "svg", "img", "style", "form":
				tb.Errorf("got a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "style" {
					tb.Errorf("got attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
				}
				if (a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:")) {
					tb.Errorf("got %s=%q on <%s>", a.Key, a.Val, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func TestRenderSchemaCycles(t *testing.T) {
	def := `openapi: 3.1.0
info: {title: Trees, version: "1"}
paths:
  /nodes:
    get:
      responses:
        "200":
          description: the tree
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Node"}
components:
  schemas:
    Node:
      type: object
      properties:
        children: {type: array, items: {$ref: "#/components/schemas/Node"}}
        parent: {$ref: "#/components/schemas/Parent"}
        missing: {$ref: "#/components/schemas/Nowhere"}
        remote: {$ref: "other.yaml#/Thing"}
    Parent:
      allOf:
        - $ref: "#/components/schemas/Node"
`
	got := render(t, "openapi", def)
	for _, w := range []string{"array of Node", "(recursive; shown above)", "unresolved reference <code>#/components/schemas/Nowhere</code>", "unresolved reference <code>other.yaml#/Thing</code>"} {
		if !strings.Contains(got, w) {
			t.Errorf("got no %q", w)
		}
	}
}

func TestRenderSwagger2(t *testing.T) {
	def := `{"swagger": "2.0", "info": {"title": "Pets", "version": "1"}, "host": "pets.example", "basePath": "/v1", "schemes": ["https"],
 "paths": {"/pets": {"post": {"operationId": "addPet", "parameters": [{"in": "body", "name": "pet", "required": true, "schema": {"$ref": "#/definitions/Pet"}},
   {"in": "query", "name": "dry", "type": "boolean"}],
   "responses": {"200": {"description": "added", "schema": {"$ref": "#/definitions/Pet"}}}}}},
 "definitions": {"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}`
	got := render(t, "openapi", def)
	for _, w := range []string{"Swagger 2.0", "<code>https://pets.example/v1</code>", "Request body", `<code class="apidoc-prop">name</code> <span class="apidoc-required"`, "<code>dry</code>", `<span class="apidoc-type">boolean</span>`} {
		if !strings.Contains(got, w) {
			t.Errorf("got no %q", w)
		}
	}
}

func TestRenderAsyncAPI3(t *testing.T) {
	def := `asyncapi: 3.0.0
info: {title: Light, version: "1"}
servers:
  prod: {host: broker.example:9092, protocol: kafka}
channels:
  lightMeasured:
    address: smartylighting.streetlights.1.0.event.{streetlightId}.lighting.measured
    messages:
      measured: {$ref: "#/components/messages/Measured"}
operations:
  receiveLight:
    action: receive
    channel: {$ref: "#/channels/lightMeasured"}
components:
  messages:
    Measured:
      name: lightMeasured
      payload: {type: object, properties: {lumens: {type: integer, minimum: 0}}}
`
	got := render(t, "asyncapi", def)
	for _, w := range []string{"AsyncAPI 3.0.0", "broker.example:9092", "apidoc-action-receive", "<code>receiveLight</code>", "lightMeasured", `<code class="apidoc-prop">lumens</code>`} {
		if !strings.Contains(got, w) {
			t.Errorf("got no %q", w)
		}
	}
}

func TestRenderBroken(t *testing.T) {
	tests := []struct{ typ, def, want string }{
		{"openapi", "openapi: 3.0.0\npaths: [\n", "line"},
		{"openapi", "just a string", "not a mapping"},
		{"openapi", "info: {title: x}", "no openapi (or swagger) version key"},
		{"asyncapi", "info: {title: x}", "no asyncapi version key"},
		{"openapi", "", "empty"},
	}
	for _, tt := range tests {
		got := render(t, tt.typ, tt.def)
		if !strings.Contains(got, "cannot be read") || !strings.Contains(got, tt.want) {
			t.Errorf("Render(%q): got %s, want a notice saying %q", tt.def, got, tt.want)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	// A 5 MB definition renders, bounded.
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\ninfo: {title: Big, version: '1'}\npaths:\n")
	for i := 0; b.Len() < 5<<20; i++ {
		fmt.Fprintf(&b, "  /things/%d:\n    get:\n      operationId: get%d\n      description: %s\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {a: {type: string}, b: {type: integer}}}}}}}\n", i, i, strings.Repeat("word ", 40))
	}
	got := render(t, "openapi", b.String())
	if !strings.Contains(got, "more operations are not shown") {
		t.Errorf("got no note about omitted operations")
	}
	if len(got) > 20<<20 {
		t.Errorf("got %d bytes of HTML, want a bounded page", len(got))
	}

	_, err := Renderer{Limits: Limits{MaxBytes: 100}}.Render("openapi", strings.Repeat("x", 101))
	if !fault.Is(err, fault.TooLarge) {
		t.Errorf("got %v, want a TooLarge error", err)
	}

	bomb := "openapi: 3.0.0\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	if got := render(t, "openapi", bomb); !strings.Contains(got, "too many values") {
		t.Errorf("got no too-many-values notice for an alias bomb")
	}
}

func BenchmarkRenderOrdersAPI(b *testing.B) {
	d := demoDefinitions(b)["orders-api"]
	for b.Loop() {
		if _, err := Render(d[0], d[1]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderCached(t *testing.T) {
	def := "type Query { a: Int }"
	first := render(t, "graphql", def)
	k := cacheKey("graphql", def)
	if _, ok := shared.get(k); !ok {
		t.Fatalf("got no cache entry after Render")
	}
	if second := render(t, "graphql", def); second != first {
		t.Errorf("got a different rendering from the cache")
	}
	c := newCache(400)
	for i := range 10 {
		c.put(cacheKey("x", fmt.Sprint(i)), template.HTML(strings.Repeat("a", 90)))
	}
	if c.size > 400 {
		t.Errorf("got %d bytes cached, want at most 400", c.size)
	}
	if _, ok := c.get(cacheKey("x", "9")); !ok {
		t.Errorf("got the newest entry evicted")
	}
	if _, ok := c.get(cacheKey("x", "0")); ok {
		t.Errorf("got the oldest entry kept")
	}
}
