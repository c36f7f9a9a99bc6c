package web

import (
	"context"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Budget is a token bucket: Burst requests at once, refilled at Rate per
// second.
type Budget struct {
	Name  string
	Rate  float64
	Burst int
}

// Limiter takes one token from the bucket key of budget b. When the bucket
// is empty it returns false and how long until a token is back.
type Limiter interface {
	Take(ctx context.Context, key string, b Budget) (ok bool, retryAfter time.Duration, err error)
}

// RouteBudget is a separate budget for expensive routes.
type RouteBudget struct {
	Budget
	// Routes are route patterns as registered ("GET /api/catalog/entity-facets").
	Routes []string
	// Query, when set, limits the budget to requests carrying this query
	// parameter (full-text search on by-query: fullTextFilterTerm).
	Query string
}

// RateLimitConfig configures RateLimit.
type RateLimitConfig struct {
	Limiter Limiter
	// Default is the budget of every request.
	Default Budget
	// Budgets are additional budgets for expensive routes; a request to one
	// takes a token from both.
	Budgets []RouteBudget
	// Principal returns the caller's ref, or "" when anonymous (the client
	// IP is used then).
	Principal func(r *http.Request) string
	// Exempt are route patterns never limited (health checks).
	Exempt []string
}

// TooManyRequests is the message of a 429 answer, as Backstage words it.
const TooManyRequests = "Too many requests, please try again later"

// RateLimit answers 429 with Retry-After when the caller's bucket (per
// principal, per client IP when anonymous) is empty. It runs after
// authentication. When the limiter fails (Redis unreachable) the request is
// let through and the failure logged: limits protect availability, they
// must not take it away.
func RateLimit(c RateLimitConfig) Middleware {
	return func(next http.Handler) http.Handler {
		if c.Limiter == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s := stateOf(r.Context()); s != nil && s.limited {
				next.ServeHTTP(w, r)
				return
			}
			key := ""
			if c.Principal != nil {
				key = c.Principal(r)
			}
			if key == "" {
				key = "ip:" + remoteIP(r)
			}
			if c.allow(w, r, key) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// AnonymousRateLimit applies c's budgets, per client IP, to the requests
// that carry no credentials at all (no Authorization header, no cookie),
// CORS preflights among them, ahead of CORS and of the audit log. Such a
// caller is anonymous whatever runs later, so RateLimit would key it by IP
// anyway; limiting it first means that a flood of refused preflights, or
// of unauthenticated requests, gets 429 answers, which are not audited,
// instead of one audit record per request. RateLimit does not charge these
// requests again.
func AnonymousRateLimit(c RateLimitConfig) Middleware {
	return func(next http.Handler) http.Handler {
		if c.Limiter == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
				next.ServeHTTP(w, r)
				return
			}
			if c.allow(w, r, "ip:"+remoteIP(r)) {
				s, r := withState(r)
				s.limited = true
				next.ServeHTTP(w, r)
			}
		})
	}
}

// allow takes a token from every budget of the request for key; when one
// is empty it answers 429 and returns false.
func (c RateLimitConfig) allow(w http.ResponseWriter, r *http.Request, key string) bool {
	pattern := Pattern(r.Context())
	if slices.Contains(c.Exempt, pattern) {
		return true
	}
	budgets := []Budget{c.Default}
	for _, rb := range c.Budgets {
		if slices.Contains(rb.Routes, pattern) && (rb.Query == "" || r.URL.Query().Has(rb.Query)) {
			budgets = append(budgets, rb.Budget)
		}
	}
	for _, b := range budgets {
		if b.Rate <= 0 || b.Burst <= 0 {
			continue
		}
		ok, retry, err := c.Limiter.Take(r.Context(), b.Name+"|"+key, b)
		if err != nil {
			Logger(r.Context()).Warn("rate limiter failed; request let through", "budget", b.Name, "error", err.Error())
			continue
		}
		if !ok {
			secs := int(math.Ceil(retry.Seconds()))
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			WriteError(w, r, fault.New(fault.RateLimited, TooManyRequests))
			return false
		}
	}
	return true
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// MemoryLimiter keeps token buckets in this process: right for one replica.
type MemoryLimiter struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxKeys bounds the buckets kept (default 100 000); when reached, full
	// buckets are dropped (they equal a new one), then the oldest.
	MaxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Take implements Limiter.
func (m *MemoryLimiter) Take(_ context.Context, key string, b Budget) (bool, time.Duration, error) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = map[string]*bucket{}
	}
	bk := m.buckets[key]
	if bk == nil {
		m.sweep(now, b)
		bk = &bucket{tokens: float64(b.Burst), last: now}
		m.buckets[key] = bk
	}
	if el := now.Sub(bk.last).Seconds(); el > 0 {
		bk.tokens = math.Min(float64(b.Burst), bk.tokens+el*b.Rate)
	}
	bk.last = now
	if bk.tokens >= 1 {
		bk.tokens--
		return true, 0, nil
	}
	return false, time.Duration((1 - bk.tokens) / b.Rate * float64(time.Second)), nil
}

// sweep makes room for a new bucket when MaxKeys is reached.
func (m *MemoryLimiter) sweep(now time.Time, b Budget) {
	max := m.MaxKeys
	if max <= 0 {
		max = 100_000
	}
	if len(m.buckets) < max {
		return
	}
	var oldestKey string
	var oldest time.Time
	for k, bk := range m.buckets {
		if bk.tokens+now.Sub(bk.last).Seconds()*b.Rate >= float64(b.Burst) {
			delete(m.buckets, k)
			continue
		}
		if oldestKey == "" || bk.last.Before(oldest) {
			oldestKey, oldest = k, bk.last
		}
	}
	if len(m.buckets) >= max && oldestKey != "" {
		delete(m.buckets, oldestKey)
	}
}
