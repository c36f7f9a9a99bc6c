// Package awx is a small client of the REST API of Ansible Automation
// Controller and AWX (/api/v2/, or /api/controller/v2/ behind the AAP 2.5
// gateway): job and workflow job templates, launching them, following a
// job to its end with its output, and cancelling it. It retries 429 (after
// Retry-After) and 5xx answers, and bounds each request with a timeout.
package awx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the controller's URL (https://awx.example.com).
	BaseURL string
	// APIPrefix is the API's path: /api/v2 (default) or, behind the AAP
	// 2.5 gateway, /api/controller/v2.
	APIPrefix string
	// Token is an OAuth2 personal access token (Authorization: Bearer).
	Token string
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// MaxRetries is how often a 429 or 5xx answer is retried (default 3;
	// -1: never).
	MaxRetries int
	// MaxRetryWait is the longest Retry-After honoured (default 1m); a
	// longer one fails at once.
	MaxRetryWait time.Duration
	// PageSize is the page_size of list requests (default 100, at most 200).
	PageSize int
	// MaxItems bounds what a list returns (default 5000).
	MaxItems int
	// BreakerThreshold is how many failed requests in a row (no answer,
	// timeout, 5xx or 429 after the retries) open the circuit breaker
	// (default 5; -1: no breaker).
	BreakerThreshold int
	// BreakerCooldown is how long the open breaker refuses requests
	// (default 30s).
	BreakerCooldown time.Duration
	// Transport does the requests (nil: http.DefaultTransport).
	Transport http.RoundTripper
}

// Client talks to one controller.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	breaker *breaker.Breaker
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url: %q is not an http(s) URL such as https://awx.example.com", cfg.BaseURL)
	}
	if cfg.APIPrefix == "" {
		cfg.APIPrefix = "/api/v2"
	}
	cfg.APIPrefix = "/" + strings.Trim(cfg.APIPrefix, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = time.Minute
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 200 {
		cfg.PageSize = 100
	}
	if cfg.MaxItems <= 0 {
		cfg.MaxItems = 5000
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 30 * time.Second
	}
	return &Client{cfg: cfg, base: u, http: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		breaker: breaker.New("AWX", cfg.BreakerThreshold, cfg.BreakerCooldown)}, nil
}

// BaseURL is the controller's URL.
func (c *Client) BaseURL() string { return c.base.String() }

// WebURL is the controller's browser URL of a job or template.
func (c *Client) WebURL(kind string, id int) string {
	switch kind {
	case "workflow_job":
		return fmt.Sprintf("%s/#/jobs/workflow/%d/output", c.base, id)
	case "job":
		return fmt.Sprintf("%s/#/jobs/playbook/%d/output", c.base, id)
	case "workflow_job_template":
		return fmt.Sprintf("%s/#/templates/workflow_job_template/%d/details", c.base, id)
	default:
		return fmt.Sprintf("%s/#/templates/job_template/%d/details", c.base, id)
	}
}

// Error is an answer of the controller other than 2xx.
type Error struct {
	Method string
	Path   string
	Status int
	// Detail is the controller's message ({"detail": …} or field errors).
	Detail string
	// RetryAfter is the wait asked for by a 429 or 503.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("AWX answered %d %s to %s %s", e.Status, http.StatusText(e.Status), e.Method, e.Path)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (check the token)"
	case http.StatusForbidden:
		msg += " (the token's user lacks the permission)"
	}
	return msg
}

// StatusOf is the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// do sends one request, retrying 429 and 5xx, and decodes a JSON answer
// into out (when not nil). It returns the status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	u := *c.base
	if strings.HasPrefix(path, c.cfg.APIPrefix) {
		u.Path += path
	} else {
		u.Path += c.cfg.APIPrefix + path
	}
	if query != nil {
		u.RawQuery = query.Encode()
	}
	if err := c.breaker.Allow(); err != nil {
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		status, retryIn, err := c.once(ctx, method, u.String(), u.Path, payload, out)
		if err == nil {
			c.breaker.Record(false)
			return status, nil
		}
		if retryIn < 0 || attempt >= c.cfg.MaxRetries || c.cfg.MaxRetries < 0 {
			// AWX answering 4xx is up; only its silence or 5xx/429 count.
			c.breaker.Record(retryIn >= 0 && ctx.Err() == nil)
			return status, err
		}
		if retryIn > c.cfg.MaxRetryWait {
			c.breaker.Record(true)
			return status, fmt.Errorf("%w; it asks to wait %s, longer than maxRetryWait %s", err, retryIn, c.cfg.MaxRetryWait)
		}
		t := time.NewTimer(retryIn)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, fmt.Errorf("%w (gave up waiting to retry: %v)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// once does one attempt. retryIn < 0 means the error is final.
func (c *Client) once(ctx context.Context, method, rawURL, path string, payload []byte, out any) (int, time.Duration, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, -1, err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, -1, fmt.Errorf("AWX %s %s: %w", method, path, ctx.Err())
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, time.Second, fmt.Errorf("AWX did not answer %s %s within %s", method, path, c.cfg.Timeout)
		}
		return 0, time.Second, fmt.Errorf("AWX %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return res.StatusCode, time.Second, fmt.Errorf("AWX %s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return res.StatusCode, -1, fmt.Errorf("AWX %s %s: the answer is not the expected JSON: %v", method, path, err)
			}
		}
		return res.StatusCode, 0, nil
	}
	e := &Error{Method: method, Path: path, Status: res.StatusCode, Detail: detail(data)}
	retryIn := time.Duration(-1)
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		retryIn = time.Second
		if s, err := strconv.Atoi(strings.TrimSpace(res.Header.Get("Retry-After"))); err == nil && s >= 0 {
			retryIn = time.Duration(s) * time.Second
			e.RetryAfter = retryIn
		} else if t, err := http.ParseTime(res.Header.Get("Retry-After")); err == nil {
			retryIn = max(0, time.Until(t))
			e.RetryAfter = retryIn
		}
	}
	return res.StatusCode, retryIn, e
}

// detail is the message of a DRF error body: {"detail": …} or field
// errors ({"field": ["message"]}), sorted by field.
func detail(data []byte) string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		s := strings.TrimSpace(string(data))
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		return s
	}
	if d, ok := m["detail"].(string); ok {
		return d
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %v", k, flat(m[k])))
	}
	return strings.Join(parts, "; ")
}

func flat(v any) string {
	switch x := v.(type) {
	case []any:
		var s []string
		for _, e := range x {
			s = append(s, flat(e))
		}
		return strings.Join(s, ", ")
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// page is a DRF list page.
type page[T any] struct {
	Count   int    `json:"count"`
	Next    string `json:"next"`
	Results []T    `json:"results"`
}

// list follows the pages of a list until MaxItems (or limit when > 0).
func list[T any](ctx context.Context, c *Client, path string, query url.Values, limit int) ([]T, error) {
	if query == nil {
		query = url.Values{}
	}
	max := c.cfg.MaxItems
	if limit > 0 && limit < max {
		max = limit
	}
	query.Set("page_size", strconv.Itoa(min(c.cfg.PageSize, max)))
	var out []T
	for range 1000 {
		var p page[T]
		if _, err := c.do(ctx, http.MethodGet, path, query, nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Results...)
		if p.Next == "" || len(out) >= max || len(p.Results) == 0 {
			break
		}
		next, err := url.Parse(p.Next)
		if err != nil {
			return nil, fmt.Errorf("AWX list %s: next page %q is not a URL", path, p.Next)
		}
		path, query = next.Path, next.Query()
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// HTTPStatus is the controller's status code (plugin.HTTPStatusError).
func (e *Error) HTTPStatus() int { return e.Status }

// RetryAfterHint is the wait a 429 or 503 asked for (plugin.HTTPStatusError).
func (e *Error) RetryAfterHint() time.Duration { return e.RetryAfter }
