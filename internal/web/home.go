package web

import (
	"context"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// Counter counts catalog entities by kind (lowercased).
type Counter interface {
	EntityCount(ctx context.Context) (map[string]int, error)
}

var homeTemplate = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Atrium</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right}code{background:#f4f4f4;padding:0 .2rem}</style></head>
<body>
<h1>Atrium</h1>
<p>A developer portal compatible with Backstage's catalog. The portal UI is not built yet; the catalog API is live.</p>
<h2>Catalog</h2>
{{if .Error}}<p>Counting entities failed: {{.Error}}</p>
{{else if not .Kinds}}<p>The catalog is empty. Register a location with <code>POST /api/catalog/locations</code> or list one under <code>catalog.locations</code> in the configuration.</p>
{{else}}<table><thead><tr><th>Kind</th><th>Entities</th></tr></thead><tbody>
{{range .Kinds}}<tr><td><a href="/api/catalog/entities/by-query?filter=kind%3D{{.Kind}}&amp;limit=20">{{.Kind}}</a></td><td class="n">{{.Count}}</td></tr>
{{end}}<tr><th>Total</th><th class="n">{{.Total}}</th></tr></tbody></table>
{{end}}
<h2>API</h2>
<ul>
<li><a href="/api/catalog/entities/by-query?limit=20">/api/catalog/entities/by-query</a> — entities, page by page</li>
<li><a href="/api/catalog/entity-facets?facet=kind&amp;facet=spec.type">/api/catalog/entity-facets</a> — counts per value</li>
<li><a href="/api/catalog/locations">/api/catalog/locations</a> — registered locations</li>
<li><a href="/.backstage/health/v1/readiness">/.backstage/health/v1/readiness</a> — readiness</li>
</ul>
</body></html>
`))

type kindCount struct {
	Kind  string
	Count int
}

// home renders the landing page with the number of entities per kind.
func home(c Counter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data := struct {
			Kinds []kindCount
			Total int
			Error string
		}{}
		counts, err := c.EntityCount(r.Context())
		if err != nil {
			Logger(r.Context()).Error("counting entities", "error", err.Error())
			data.Error = "the database did not answer"
		}
		for k, n := range counts {
			data.Kinds = append(data.Kinds, kindCount{Kind: k, Count: n})
			data.Total += n
		}
		sort.Slice(data.Kinds, func(i, j int) bool { return strings.Compare(data.Kinds[i].Kind, data.Kinds[j].Kind) < 0 })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := homeTemplate.Execute(w, data); err != nil {
			Logger(r.Context()).Error("rendering home", "error", err.Error())
		}
	}
}
