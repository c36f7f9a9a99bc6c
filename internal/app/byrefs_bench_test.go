package app_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// BenchmarkByRefs serves POST /api/catalog/entities/by-refs in process, one
// request at a time, through a whole Atrium (middleware, authentication,
// the read permission, the engine, the store) on each database: 20 refs a
// request, as an entity page's relation cards ask, whole ("full") and
// projected to the catalog table's columns ("fields"), with every entity
// in the entity cache ("cached") or none ("uncached"). Besides ns/op it
// reports cpu-µs/op, the process's CPU time per request.
//
//	go test ./internal/app -run XX -bench ByRefs -benchtime 5000x -benchmem
func BenchmarkByRefs(b *testing.B) {
	const n, perReq = 3000, 20
	file := writeBenchCatalog(b, n)
	bodies := make([]string, n)
	for i := range bodies {
		refs := make([]string, perReq)
		for j := range refs {
			refs[j] = fmt.Sprintf("%q", fmt.Sprintf("component:default/svc-%d", (i*31+j*97)%n))
		}
		bodies[i] = `{"entityRefs":[` + strings.Join(refs, ",") + `]`
	}
	for _, db := range apptest.Databases(b) {
		for _, tc := range []struct{ name, cache string }{{"cached", "64MiB"}, {"uncached", "0"}} {
			srv := apptest.StartServer(b, fmt.Sprintf("catalog:\n  locations:\n    - { type: file, target: %q }\n"+
				"atrium:\n  cache: { entities: %s }\n  rateLimit: { enabled: false }\n%s", file, tc.cache, db.YAML))
			h := srv.App.Handler()
			for _, shape := range []struct{ name, tail string }{
				{"full", "}"},
				{"fields", `,"fields":["kind","metadata.name","metadata.namespace","metadata.title"]}`},
			} {
				b.Run(db.Name+"/"+tc.name+"/"+shape.name, func(b *testing.B) {
					serve := func(i int) {
						req := httptest.NewRequest("POST", "/api/catalog/entities/by-refs", strings.NewReader(bodies[i%n]+shape.tail))
						req.Header.Set("Content-Type", "application/json")
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != 200 {
							b.Fatalf("got %d: %s", rec.Code, rec.Body)
						}
					}
					measureServe(b, n, serve)
				})
			}
		}
	}
}
