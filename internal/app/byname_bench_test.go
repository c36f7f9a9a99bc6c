package app_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// BenchmarkByName sends GET /api/catalog/entities/by-name over loopback
// HTTP to a whole Atrium (every middleware, authentication, the read
// permission, the engine, the store) on each database, from as many
// client goroutines as GOMAXPROCS, the way the bench harness's clients
// do. "cached" fits every entity in the entity cache; "uncached" turns the
// cache off, so each request reads the store. Besides ns/op it reports
// cpu-µs/op: the process's CPU time (server and client, but not a
// PostgreSQL server's) per request, which hardly depends on other load on
// the machine. The in-process variants serve the same requests without
// network or client, one at a time: the server's own cost per request.
//
//	go test ./internal/app -run XX -bench ByName -benchtime 20000x
func BenchmarkByName(b *testing.B) {
	const n = 3000
	file := writeBenchCatalog(b, n)
	for _, db := range apptest.Databases(b) {
		for _, tc := range []struct{ name, cache string }{{"cached", "64MiB"}, {"uncached", "0"}} {
			b.Run(db.Name+"/"+tc.name, func(b *testing.B) {
				srv := apptest.StartServer(b, fmt.Sprintf("catalog:\n  locations:\n    - { type: file, target: %q }\n"+
					"atrium:\n  cache: { entities: %s }\n  rateLimit: { enabled: false }\n%s", file, tc.cache, db.YAML))
				base := srv.BaseURL
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				b.Cleanup(client.CloseIdleConnections)
				get := func(rng *rand.Rand) error {
					res, err := client.Get(fmt.Sprintf("%s/api/catalog/entities/by-name/component/default/svc-%d", base, rng.IntN(n)))
					if err != nil {
						return err
					}
					defer res.Body.Close()
					if _, err := io.Copy(io.Discard, res.Body); err != nil {
						return err
					}
					if res.StatusCode != http.StatusOK {
						return fmt.Errorf("got %d", res.StatusCode)
					}
					return nil
				}
				warm := rand.New(rand.NewPCG(1, 2))
				for range 2 * n {
					if err := get(warm); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				cpu := processCPU(b)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(rand.Uint64(), 3))
					for pb.Next() {
						if err := get(rng); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			})
			// The server alone: the same requests served in process, one
			// at a time, with neither network nor client.
			b.Run(db.Name+"/"+tc.name+"/in-process", func(b *testing.B) {
				srv := apptest.StartServer(b, fmt.Sprintf("catalog:\n  locations:\n    - { type: file, target: %q }\n"+
					"atrium:\n  cache: { entities: %s }\n  rateLimit: { enabled: false }\n%s", file, tc.cache, db.YAML))
				h := srv.App.Handler()
				paths := make([]string, n)
				for i := range paths {
					paths[i] = fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%d", i)
				}
				serve := func(i int) {
					req := httptest.NewRequest("GET", paths[i%n], nil)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: got %d", paths[i%n], rec.Code)
					}
				}
				measureServe(b, n, serve)
			})
		}
	}
}

// processCPU returns the user and system CPU time of this process so far.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureServe warms every one of n requests once, then measures serve
// over the benchmark's iterations (a stride through the n, so consecutive
// requests differ), reporting allocations and the process's CPU per request.
func measureServe(b *testing.B, n int, serve func(i int)) {
	b.Helper()
	for i := range n {
		serve(i)
	}
	b.ReportAllocs()
	cpu := processCPU(b)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		serve(i * 7919)
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// writeBenchCatalog writes the by-name and by-refs benchmarks' catalog (a
// team and n components that depend on one another) to catalog.yaml in a
// new folder, and returns the file.
func writeBenchCatalog(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: { name: team-a }\nspec: { type: team, children: [] }\n")
	for i := range n {
		fmt.Fprintf(&sb, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\n"+
			"metadata: { name: svc-%d, description: A service of the benchmark, tags: [go, backend], annotations: { example.com/tier: gold } }\n"+
			"spec: { type: service, lifecycle: production, owner: team-a, dependsOn: [component:svc-%d, component:svc-%d] }\n", i, (i+1)%n, (i+7)%n)
	}
	file := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return file
}
