package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// browserConns is how many connections a browser opens to one host (HTTP/1.1).
const browserConns = 6

// usersParams configure the load test of -users: simulated people browsing
// the catalog.
type usersParams struct {
	Base     string
	Set      *gen.Set
	Users    int
	Duration time.Duration
	Warmup   time.Duration
	// Think is the mean of the exponential pause after each entity page.
	Think      time.Duration
	ReqTimeout time.Duration
	Seed       int64
	// Profiler, when set, records a CPU profile of the server over the
	// measured time (after the warm-up) into usersProfile.
	Profiler *profiler
}

// usersProfile is the CPU profile of the -users load test.
const usersProfile = "users.cpu.pprof"

// pageRow is what a catalog page's table shows of one listed entity; the
// by-query asks for these fields only.
type pageRow struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

// rowFields are the fields the catalog table asks for.
// The owner and system columns come from the relations, as Backstage's
// table takes them (full refs, unlike spec.owner).
const rowFields = "kind,metadata.name,metadata.namespace,metadata.title,metadata.description,metadata.tags,spec.type,spec.lifecycle,spec.owner,spec.system,relations"

// UsersStats are the figures of one request kind, or of one whole page
// (a burst of requests), in the -users load test.
type UsersStats struct {
	Name      string  `json:"name"`
	Count     int     `json:"count"`
	Errors    int     `json:"errors"`
	P50ms     float64 `json:"p50ms"`
	P95ms     float64 `json:"p95ms"`
	P99ms     float64 `json:"p99ms"`
	MaxMs     float64 `json:"maxMs"`
	PerSecond float64 `json:"perSecond"`
}

// UsersResult is the outcome of the -users load test.
type UsersResult struct {
	Users    int    `json:"users"`
	Think    string `json:"think"`
	Duration string `json:"duration"`
	// Requests covers every request; Pages the two page bursts; Kinds
	// each request kind.
	Requests UsersStats   `json:"requests"`
	Pages    []UsersStats `json:"pages"`
	Kinds    []UsersStats `json:"kinds"`
	// ErrorsByKind counts failed requests: "status" (an answer other than
	// 200), "timeout" (no answer within -request-timeout) and
	// "connection" (refused, reset, closed).
	ErrorsByKind map[string]int    `json:"errorsByKind"`
	FirstErrors  map[string]string `json:"firstErrors,omitempty"`
	// ServerCPUSeconds is the server's CPU time during the measurement;
	// ServerCores the same per second of wall time.
	ServerCPUSeconds float64 `json:"serverCpuSeconds"`
	ServerCores      float64 `json:"serverCores"`
	// ClientCPUSeconds is the load generator's own CPU time, to show it
	// left the cores to the server.
	ClientCPUSeconds float64 `json:"clientCpuSeconds"`
	PeakRSSMB        float64 `json:"peakRssMB"`
	LoadAvgEnd       string  `json:"loadAvgEnd"`
	TargetP95ms      float64 `json:"targetP95ms"`
	// Pass is true with no error and a p95 of all requests within the
	// target.
	Pass    bool   `json:"pass"`
	Verdict string `json:"verdict"`
}

// recorder collects one user's samples; a user's parallel requests share it.
type recorder struct {
	mu       sync.Mutex
	warmEnd  time.Time
	lat      map[string][]time.Duration
	errs     map[string]int // by error kind
	errsBy   map[string]int // by request kind
	firstErr map[string]string
}

func newRecorder(warmEnd time.Time) *recorder {
	return &recorder{warmEnd: warmEnd, lat: map[string][]time.Duration{}, errs: map[string]int{},
		errsBy: map[string]int{}, firstErr: map[string]string{}}
}

func (r *recorder) ok(name string, t0 time.Time, d time.Duration) {
	if t0.Before(r.warmEnd) {
		return
	}
	r.mu.Lock()
	r.lat[name] = append(r.lat[name], d)
	r.mu.Unlock()
}

func (r *recorder) fail(name string, t0 time.Time, kind, msg string) {
	if t0.Before(r.warmEnd) {
		return
	}
	r.mu.Lock()
	r.errsBy[name]++
	if kind != "" {
		r.errs[kind]++
	}
	if kind != "" && r.firstErr[kind] == "" {
		r.firstErr[kind] = name + ": " + msg
	}
	r.mu.Unlock()
}

// user is one simulated person with a browser: its own keep-alive
// connections (at most six), its team, and its random sequence.
type user struct {
	p     usersParams
	http  *http.Client
	rng   *rand.Rand
	team  string
	rec   *recorder
	types []string
}

// runUsers runs the load test: every user repeatedly opens a catalog page
// and then one entity of it, and thinks.
func runUsers(ctx context.Context, p usersParams) (*UsersResult, error) {
	teams := p.Set.Teams()
	if len(teams) == 0 {
		return nil, errors.New("users: the generated catalog has no teams")
	}
	types := []string{"service", "website", "library"}
	start := time.Now()
	warmEnd := start.Add(p.Warmup)
	deadline := warmEnd.Add(p.Duration)
	users := make([]*user, p.Users)
	for i := range users {
		tr := &http.Transport{
			MaxConnsPerHost:     browserConns,
			MaxIdleConnsPerHost: browserConns,
			IdleConnTimeout:     2 * time.Minute,
			DisableCompression:  true,
		}
		users[i] = &user{
			p: p, http: &http.Client{Transport: tr, Timeout: p.ReqTimeout},
			rng:  rand.New(rand.NewPCG(uint64(p.Seed), uint64(i)+7)),
			rec:  newRecorder(warmEnd),
			team: teams[i%len(teams)], types: types,
		}
	}
	cpu0, _ := selfCPUSeconds()
	var wg sync.WaitGroup
	profErr := make(chan error, 1)
	if p.Profiler != nil {
		// The profile covers the measured time only, as the samples do.
		go func() {
			t := time.NewTimer(time.Until(warmEnd))
			defer t.Stop()
			select {
			case <-ctx.Done():
				profErr <- ctx.Err()
			case <-t.C:
				profErr <- p.Profiler.startCPU(ctx, usersProfile)
			}
		}()
	}
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer u.http.CloseIdleConnections()
			// Stagger the arrivals over one think time.
			if !u.think(ctx, deadline) {
				return
			}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				rows := u.catalogPage(ctx)
				if len(rows) > 0 {
					u.entityPage(ctx, rows[u.rng.IntN(len(rows))])
				}
				if !u.think(ctx, deadline) {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	elapsed := time.Since(warmEnd)
	if p.Profiler != nil {
		if err := <-profErr; err != nil {
			return nil, fmt.Errorf("users: starting the CPU profile: %w", err)
		}
		if err := p.Profiler.stopCPU(ctx); err != nil {
			return nil, fmt.Errorf("users: stopping the CPU profile: %w", err)
		}
	}
	cpu1, _ := selfCPUSeconds()
	res := &UsersResult{
		Users: p.Users, Think: p.Think.String(), Duration: p.Duration.String(),
		ErrorsByKind: map[string]int{"status": 0, "timeout": 0, "connection": 0},
		FirstErrors:  map[string]string{}, ClientCPUSeconds: cpu1 - cpu0,
	}
	lat := map[string][]time.Duration{}
	errsBy := map[string]int{}
	for _, u := range users {
		for k, v := range u.rec.lat {
			lat[k] = append(lat[k], v...)
		}
		for k, v := range u.rec.errs {
			res.ErrorsByKind[k] += v
		}
		for k, v := range u.rec.errsBy {
			errsBy[k] += v
		}
		for k, v := range u.rec.firstErr {
			if res.FirstErrors[k] == "" {
				res.FirstErrors[k] = v
			}
		}
	}
	var all []time.Duration
	var allErrs int
	for _, name := range requestKinds {
		all = append(all, lat[name]...)
		allErrs += errsBy[name]
		res.Kinds = append(res.Kinds, usersStats(name, lat[name], errsBy[name], elapsed))
	}
	for _, name := range []string{pageCatalog, pageEntity} {
		res.Pages = append(res.Pages, usersStats(name, lat[name], errsBy[name], elapsed))
	}
	res.Requests = usersStats("all requests", all, allErrs, elapsed)
	return res, nil
}

// The request kinds and pages, as recorded.
const (
	reqFacetKind  = "facets:kind"
	reqFacetType  = "facets:type"
	reqFacetOther = "facets:lifecycle,tags,owner"
	reqCountAll   = "count:all"
	reqCountOwned = "count:owned"
	reqPage       = "by-query:page"
	reqRowRefs    = "by-refs:owners,systems"
	reqByName     = "entity:by-name"
	reqRelRefs    = "entity:by-refs"
	pageCatalog   = "page:catalog"
	pageEntity    = "page:entity"
)

var requestKinds = []string{reqFacetKind, reqFacetType, reqFacetOther, reqCountAll, reqCountOwned, reqPage, reqRowRefs, reqByName, reqRelRefs}

func usersStats(name string, lat []time.Duration, errs int, elapsed time.Duration) UsersStats {
	slices.Sort(lat)
	s := UsersStats{Name: name, Count: len(lat) + errs, Errors: errs,
		P50ms: ms(percentile(lat, 50)), P95ms: ms(percentile(lat, 95)), P99ms: ms(percentile(lat, 99)),
		PerSecond: float64(len(lat)+errs) / elapsed.Seconds()}
	if len(lat) > 0 {
		s.MaxMs = ms(lat[len(lat)-1])
	}
	return s
}

// think pauses for an exponentially distributed time; false when the run
// is over.
func (u *user) think(ctx context.Context, deadline time.Time) bool {
	d := time.Duration(u.rng.ExpFloat64() * float64(u.p.Think))
	if until := time.Until(deadline); d > until {
		d = until
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	return time.Now().Before(deadline)
}

// catalogPage does what a Backstage catalog page (CatalogIndexPage) asks
// of the catalog API when it opens: the sidebar's pickers' facets, the
// counts of the "All" and "Owned" lists, and the first page of the table,
// all at once over the browser's connections; then the owners and systems
// of the listed rows in one by-refs. It returns the listed rows.
func (u *user) catalogPage(ctx context.Context) []pageRow {
	filter := "kind=component,spec.type=" + u.types[u.rng.IntN(len(u.types))]
	if u.rng.IntN(2) == 0 {
		filter = "kind=component,relations.ownedby=" + u.team
	}
	reqs := []struct {
		name, path string
		out        any
	}{
		{reqFacetKind, "/api/catalog/entity-facets?facet=kind", nil},
		{reqFacetType, "/api/catalog/entity-facets?facet=spec.type&filter=kind%3Dcomponent", nil},
		{reqFacetOther, "/api/catalog/entity-facets?facet=spec.lifecycle&facet=metadata.tags&facet=relations.ownedBy&filter=kind%3Dcomponent", nil},
		{reqCountAll, "/api/catalog/entities/by-query?limit=0&filter=kind%3Dcomponent", nil},
		{reqCountOwned, "/api/catalog/entities/by-query?limit=0&filter=" + url.QueryEscape("kind=component,relations.ownedby="+u.team), nil},
		{reqPage, "/api/catalog/entities/by-query?limit=20&orderField=metadata.name,asc&fields=" + rowFields + "&filter=" + url.QueryEscape(filter), nil},
	}
	var page struct {
		Items []pageRow `json:"items"`
	}
	reqs[len(reqs)-1].out = &page
	t0 := time.Now()
	var wg sync.WaitGroup
	failed := make([]bool, len(reqs))
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failed[i] = !u.do(ctx, r.name, http.MethodGet, r.path, nil, r.out)
		}()
	}
	wg.Wait()
	ok := !slices.Contains(failed, true)
	var refs []string
	for _, row := range page.Items {
		for _, rel := range row.Relations {
			if (rel.Type == "ownedBy" || rel.Type == "partOf") && !slices.Contains(refs, rel.TargetRef) {
				refs = append(refs, rel.TargetRef)
			}
		}
	}
	if len(refs) > 0 {
		body, _ := json.Marshal(map[string]any{"entityRefs": refs, "fields": []string{"kind", "metadata.name", "metadata.namespace", "metadata.title"}})
		ok = u.do(ctx, reqRowRefs, http.MethodPost, "/api/catalog/entities/by-refs", body, nil) && ok
	}
	u.page(pageCatalog, t0, ok)
	return page.Items
}

// entityPage opens the page of one listed entity as a Backstage entity
// page does: the entity by name, then the entities its relations point
// to (for the "about", relation and dependency cards) in one by-refs.
func (u *user) entityPage(ctx context.Context, row pageRow) {
	var e struct {
		Relations []struct {
			TargetRef string `json:"targetRef"`
		} `json:"relations"`
	}
	ns := row.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	t0 := time.Now()
	ok := u.do(ctx, reqByName, http.MethodGet, byNamePath(strings.ToLower(row.Kind), ns, row.Metadata.Name), nil, &e)
	var refs []string
	for _, r := range e.Relations {
		if !slices.Contains(refs, r.TargetRef) {
			refs = append(refs, r.TargetRef)
		}
	}
	if ok && len(refs) > 0 {
		body, _ := json.Marshal(map[string]any{"entityRefs": refs})
		ok = u.do(ctx, reqRelRefs, http.MethodPost, "/api/catalog/entities/by-refs", body, nil)
	}
	u.page(pageEntity, t0, ok)
}

// page records a whole page's time when all its requests succeeded.
func (u *user) page(name string, t0 time.Time, ok bool) {
	if ok {
		u.rec.ok(name, t0, time.Since(t0))
	} else {
		u.rec.fail(name, t0, "", "") // the failed request is counted by its kind
	}
}

// do sends one request, reads the whole answer (decoding it into out when
// given), and records its latency or its error; it reports success.
func (u *user) do(ctx context.Context, name, method, path string, body []byte, out any) bool {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.p.Base+path, rd)
	if err != nil {
		u.rec.fail(name, time.Now(), "connection", err.Error())
		return false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := u.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			u.rec.fail(name, t0, errorKind(err), err.Error())
		}
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		u.rec.fail(name, t0, "status", fmt.Sprintf("%s %s: status %d: %s", method, path, resp.StatusCode, b))
		return false
	}
	if out != nil {
		err = json.NewDecoder(resp.Body).Decode(out)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	d := time.Since(t0)
	if err != nil {
		if ctx.Err() == nil {
			u.rec.fail(name, t0, errorKind(err), err.Error())
		}
		return false
	}
	u.rec.ok(name, t0, d)
	return true
}

// errorKind sorts a transport error into "timeout" or "connection".
func errorKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "connection"
}

// selfCPUSeconds is this process's user and system CPU time.
func selfCPUSeconds() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
}

// loadAvg is /proc/loadavg now.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func usersHeader() string {
	return "| db | entities | users | think | d | requests | req/s | errors (status / timeout / conn) | request p50 / p95 / p99 ms | catalog page p50 / p95 / p99 ms | entity page p50 / p95 / p99 ms | server CPU cores | client CPU s | peak RSS MB | verdict |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
}

// usersRow formats the -users result as one row under usersHeader.
func usersRow(r *Result) string {
	u := r.Users
	pct := func(s UsersStats) string { return fmt.Sprintf("%.1f / %.1f / %.1f", s.P50ms, s.P95ms, s.P99ms) }
	var cat, ent UsersStats
	for _, p := range u.Pages {
		switch p.Name {
		case pageCatalog:
			cat = p
		case pageEntity:
			ent = p
		}
	}
	return fmt.Sprintf("| %s | %d | %d | %s | %s | %d | %.0f | %d / %d / %d | %s | %s | %s | %.2f | %.1f | %.0f | %s |",
		r.DB, r.N, u.Users, u.Think, u.Duration, u.Requests.Count, u.Requests.PerSecond,
		u.ErrorsByKind["status"], u.ErrorsByKind["timeout"], u.ErrorsByKind["connection"],
		pct(u.Requests), pct(cat), pct(ent), u.ServerCores, u.ClientCPUSeconds, u.PeakRSSMB, u.Verdict)
}

// runUsersPhase runs the -users load test on the ingested, settled server
// and puts its figures, with the server's CPU time and memory, into res.
// With prof set, the server's CPU profile of the measured time goes into
// usersProfile in the profile folder.
func runUsersPhase(ctx context.Context, o options, set *gen.Set, srv *server, prof *profiler, res *Result) error {
	log.Printf("load: %d users, think %v, %v after %v warm-up; load average %s", o.Users, o.Think, o.Duration, o.Warmup, loadAvg())
	cpu0, _ := procCPUSeconds(srv.PID())
	t0 := time.Now()
	u, err := runUsers(ctx, usersParams{
		Base: srv.BaseURL, Set: set, Users: o.Users, Duration: o.Duration, Warmup: o.Warmup,
		Think: o.Think, ReqTimeout: o.ReqTimeout, Seed: o.Seed, Profiler: prof,
	})
	if err != nil {
		return err
	}
	cpu1, _ := procCPUSeconds(srv.PID())
	u.ServerCPUSeconds = cpu1 - cpu0
	u.ServerCores = u.ServerCPUSeconds / time.Since(t0).Seconds()
	u.PeakRSSMB = srv.PeakRSSMB()
	u.LoadAvgEnd = loadAvg()
	u.TargetP95ms = ms(o.TargetP95)
	errs := u.ErrorsByKind["status"] + u.ErrorsByKind["timeout"] + u.ErrorsByKind["connection"]
	u.Pass = errs == 0 && u.Requests.Count > 0 && u.Requests.P95ms <= u.TargetP95ms
	u.Verdict = fmt.Sprintf("%d errors, request p95 %.1f ms (target 0 errors, p95 ≤ %.0f ms): ", errs, u.Requests.P95ms, u.TargetP95ms)
	if u.Pass {
		u.Verdict += "pass"
	} else {
		u.Verdict += "FAIL"
	}
	res.Users = u
	res.PeakRSSMB = u.PeakRSSMB
	for _, k := range append(u.Pages, u.Kinds...) {
		log.Printf("  %-28s %7d  p50 %7.1f  p95 %7.1f  p99 %7.1f ms  %d errors", k.Name, k.Count, k.P50ms, k.P95ms, k.P99ms, k.Errors)
	}
	for k, v := range u.FirstErrors {
		log.Printf("  first %s error: %s", k, v)
	}
	log.Printf("  %.0f req/s, server %.2f cores, client %.1f CPU s, peak RSS %.0f MB; %s", u.Requests.PerSecond, u.ServerCores, u.ClientCPUSeconds, u.PeakRSSMB, u.Verdict)
	return nil
}
