package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// expectations are what a fully ingested catalog must show.
type expectations struct {
	// kinds counts entities per lowercased kind; "location" is a minimum
	// (the server may add Location entities for its static locations).
	kinds map[string]int
	// sources counts, per lowercased relation type, the entities carrying it.
	sources map[string]int
	// samples are entities whose relations are compared one by one.
	samples map[string][]gen.Relation
	// relations is every expected relation (both directions).
	relations []gen.Relation
}

// expectationsOf derives the checks from the generated set. The samples
// are drawn deterministically and always include the last entity of each
// kind (the last written, so likely the last ingested).
func expectationsOf(set *gen.Set, samples int, seed int64) expectations {
	rels := set.Relations()
	exp := expectations{kinds: set.CountByKind(), sources: set.SourcesByRelationType(), relations: rels}
	var refs []string
	last := map[string]string{}
	for _, e := range set.Entities {
		last[e.Kind] = e.Ref()
	}
	for _, r := range last {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	rng := rand.New(rand.NewPCG(uint64(seed), 17))
	for range samples {
		refs = append(refs, set.Entities[rng.IntN(len(set.Entities))].Ref())
	}
	exp.samples = set.RelationsOf(refs)
	for _, r := range refs {
		if _, ok := exp.samples[r]; !ok {
			exp.samples[r] = nil
		}
	}
	return exp
}

// Ingest is how long ingestion took, in seconds since the process started.
type Ingest struct {
	// LiveSeconds is when the server first answered its liveness probe.
	// The catalog is polled from then on, not from readiness: a replica
	// is ready only once its first load has finished (index builds
	// included), while what is measured is when every entity can be
	// queried, as in the runs before readiness waited for the load.
	LiveSeconds float64 `json:"liveSeconds"`
	// CountsSeconds is when every entity of every kind was visible (checked
	// only once the sampled entities were complete).
	CountsSeconds float64 `json:"countsSeconds"`
	// Seconds is when every entity also showed all its relations: the
	// ingestion time the benchmark reports.
	Seconds float64 `json:"seconds"`
	// Stages says, for each stage of the wait in order, when it passed,
	// after how many checks, and how long its passing check took: the
	// part of Seconds that is the checks' own duration, not the server's
	// ingestion, and whether failed checks (and the pauses after them)
	// came in between.
	Stages []StageTime `json:"stages,omitempty"`
}

// StageTime is one stage of waitIngested.
type StageTime struct {
	Name string `json:"name"`
	// PassedSeconds is when the passing check ended, since the start.
	PassedSeconds float64 `json:"passedSeconds"`
	// Checks counts the checks run, the passing one included.
	Checks int `json:"checks"`
	// CheckSeconds is how long the passing check took.
	CheckSeconds float64 `json:"checkSeconds"`
}

type ingestParams struct {
	Client  *client
	Exp     expectations
	Start   time.Time
	Timeout time.Duration
	// Exited, when closed, means the server has died.
	Exited <-chan struct{}
	// Poll is the pause between checks (0: 100 ms).
	Poll time.Duration
}

// waitIngested polls the server until the catalog is complete, one stage
// after the other: liveness; the sampled entities' relations (cheap
// lookups by name, spread over the whole catalog, so they pass only late);
// entity counts per kind; entities per relation type; and the samples once
// more, since relations may have changed while the counts were checked. A
// stage that passed is not checked again. After a failed check the poller
// pauses as long as the check took (three times as long for the expensive
// counts, per request in flight), so that it never takes much of the
// server's time. Each stage's passing check is logged and returned with
// its duration (Ingest.Stages).
func waitIngested(ctx context.Context, p ingestParams) (Ingest, error) {
	var res Ingest
	poll := p.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	ctx, cancel := context.WithDeadline(ctx, p.Start.Add(p.Timeout))
	defer cancel()
	samples := func(ctx context.Context) error { return checkSamples(ctx, p.Client, p.Exp.samples) }
	stages := []struct {
		name  string
		check func(context.Context) error
		pause time.Duration // multiple of the check's own duration
		at    *float64
	}{
		{"liveness", func(ctx context.Context) error { return checkLive(ctx, p.Client) }, 1, &res.LiveSeconds},
		{"sampled relations", samples, 1, nil},
		{"entity counts", func(ctx context.Context) error { return checkKinds(ctx, p.Client, p.Exp.kinds) }, 3, &res.CountsSeconds},
		// Its requests run sourceChecksInFlight at a time: as long a
		// pause per request as the other counts.
		{"relation counts", func(ctx context.Context) error { return checkSources(ctx, p.Client, p.Exp.sources) }, 3 * sourceChecksInFlight, nil},
		{"sampled relations, again", samples, 1, &res.Seconds},
	}
	for _, st := range stages {
		var last error
		var t0 time.Time
		checks := 0
		for {
			t0 = time.Now()
			checks++
			if last = st.check(ctx); last == nil {
				break
			}
			select {
			case <-p.Exited:
				return res, fmt.Errorf("server exited while waiting for %s (last check: %v)", st.name, last)
			case <-ctx.Done():
				return res, fmt.Errorf("waiting for %s: %w (last check: %v)", st.name, ctx.Err(), last)
			case <-time.After(max(poll, st.pause*time.Since(t0))):
			}
		}
		passed := time.Now()
		res.Stages = append(res.Stages, StageTime{Name: st.name, PassedSeconds: passed.Sub(p.Start).Seconds(),
			Checks: checks, CheckSeconds: passed.Sub(t0).Seconds()})
		log.Printf("  %s: passed at %.2fs, check %d took %.2fs", st.name, passed.Sub(p.Start).Seconds(), checks, passed.Sub(t0).Seconds())
		if st.at != nil {
			*st.at = passed.Sub(p.Start).Seconds()
		}
	}
	return res, nil
}

func checkLive(ctx context.Context, c *client) error {
	code, _, err := c.get(ctx, "/.backstage/health/v1/liveness")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("liveness: status %d", code)
	}
	return nil
}

type facetsResponse struct {
	Facets map[string][]struct {
		Value string `json:"value"`
		Count int    `json:"count"`
	} `json:"facets"`
}

// checkKinds compares the entity count of every kind. It first asks for
// the total alone, which is cheaper than facets while ingestion is running.
func checkKinds(ctx context.Context, c *client, want map[string]int) error {
	total := 0
	for _, n := range want {
		total += n
	}
	var br byQueryResponse
	if err := c.getJSON(ctx, "/api/catalog/entities/by-query?limit=0", &br); err != nil {
		return err
	}
	if br.TotalItems < total {
		return fmt.Errorf("got %d entities, want %d", br.TotalItems, total)
	}
	var fr facetsResponse
	if err := c.getJSON(ctx, "/api/catalog/entity-facets?facet=kind", &fr); err != nil {
		return err
	}
	got := map[string]int{}
	for _, f := range fr.Facets["kind"] {
		got[strings.ToLower(f.Value)] += f.Count
	}
	for _, k := range sortedKeys(want) {
		if k == "location" && got[k] >= want[k] || got[k] == want[k] {
			continue
		}
		return fmt.Errorf("kind %s: got %d entities, want %d", k, got[k], want[k])
	}
	return nil
}

type byQueryResponse struct {
	TotalItems int `json:"totalItems"`
}

// sourceChecksInFlight is how many of checkSources' requests run at once.
// Each is a count over up to most of the catalog (0.1–0.6 s at 100k
// entities on a busy 2-vCPU machine, with every index built), and the
// check passes at its first try once the entity counts have: run one
// after the other, their sum was most of the gap between "all entities
// visible" and "ingested", time in which the data was already complete.
// Two at a time is what the server's second core takes while the first
// builds the bulk load's indexes.
const sourceChecksInFlight = 2

// checkSources counts, per relation type, the entities that carry it. It
// reports the first mismatch in the order of the types.
func checkSources(ctx context.Context, c *client, want map[string]int) error {
	types := sortedKeys(want)
	errs := make([]error, len(types))
	sem := make(chan struct{}, sourceChecksInFlight)
	var wg sync.WaitGroup
	for i, t := range types {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var br byQueryResponse
			path := "/api/catalog/entities/by-query?limit=0&filter=" + url.QueryEscape("relations."+t)
			if err := c.getJSON(ctx, path, &br); err != nil {
				errs[i] = err
				return
			}
			if br.TotalItems != want[t] {
				errs[i] = fmt.Errorf("relations.%s: got %d entities, want %d", t, br.TotalItems, want[t])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type entityResponse struct {
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

// checkSamples compares every sampled entity's relations with the expected
// ones, as sets.
func checkSamples(ctx context.Context, c *client, want map[string][]gen.Relation) error {
	for _, ref := range sortedKeys(want) {
		kind, rest, _ := strings.Cut(ref, ":")
		ns, name, _ := strings.Cut(rest, "/")
		var er entityResponse
		if err := c.getJSON(ctx, byNamePath(kind, ns, name), &er); err != nil {
			return err
		}
		got := make([]string, 0, len(er.Relations))
		for _, r := range er.Relations {
			got = append(got, r.Type+" "+strings.ToLower(r.TargetRef))
		}
		exp := make([]string, 0, len(want[ref]))
		for _, r := range want[ref] {
			exp = append(exp, r.Type+" "+r.Target)
		}
		sort.Strings(got)
		sort.Strings(exp)
		if strings.Join(got, ",") != strings.Join(exp, ",") {
			return fmt.Errorf("%s: got relations %v, want %v", ref, got, exp)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
