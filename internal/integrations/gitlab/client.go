// Package gitlab is Atrium's client for GitLab instances: the official
// client (gitlab.com/gitlab-org/api/client-go/v2) behind a per-host
// request budget that honours 429 with Retry-After or RateLimit-Reset,
// retries of 5xx answers with backoff, and a circuit breaker. It holds
// clients only; the plugin in plugins/gitlab uses them.
package gitlab

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/atrium-portal/atrium/plugin"
)

// Config configures the client of one GitLab instance.
type Config struct {
	// Host is the instance's host ("gitlab.example.com", with a port when
	// not the default); it names the instance in errors and URLs.
	Host string
	// BaseURL is the instance's URL ("https://gitlab.example.com"); the
	// client adds /api/v4. Empty means https://<Host>.
	BaseURL string
	// Token is the personal, group or project access token.
	Token string
	// RequestsPerSecond and Burst size the host's token bucket;
	// RequestsPerSecond 0 means no limit besides GitLab's 429 answers.
	RequestsPerSecond float64
	Burst             int
	// MaxRetries is how often a 429 or 5xx answer is retried (0: 3;
	// negative: never).
	MaxRetries int
	// MaxRetryWait is the longest Retry-After honoured by waiting; a
	// longer one fails the request at once (0: 1 minute).
	MaxRetryWait time.Duration
	// Timeout bounds one HTTP request (0: 30 s).
	Timeout time.Duration
	// BreakerThreshold consecutive failures open the circuit breaker for
	// BreakerCooldown (0: 5 and 30 s).
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// Transport does the HTTP requests (nil: http.DefaultTransport); the
	// demo points it at the in-process simulator.
	Transport http.RoundTripper
	// Budget, when set, is shared with other clients of the same host;
	// nil makes one from RequestsPerSecond and Burst.
	Budget *Budget
}

// Client is the client of one GitLab instance.
type Client struct {
	// API is the official client, for the calls this package does not wrap.
	API     *gl.Client
	Host    string
	BaseURL string
	Budget  *Budget
	Breaker *Breaker
}

// New returns the client of the instance c describes.
func New(c Config) (*Client, error) {
	if c.Host == "" {
		return nil, errors.New("gitlab: an instance needs a host")
	}
	base := strings.TrimSuffix(c.BaseURL, "/")
	if base == "" {
		base = "https://" + c.Host
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gitlab: %q is not an http(s) URL", c.BaseURL)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = time.Minute
	}
	retries := c.MaxRetries
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	budget := c.Budget
	if budget == nil {
		budget = NewBudget(c.RequestsPerSecond, c.Burst)
	}
	breaker := newBreaker(c.Host, c.BreakerThreshold, c.BreakerCooldown)
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc := &http.Client{Timeout: c.Timeout, Transport: &transport{next: next, breaker: breaker, budget: budget}}
	maxWait := c.MaxRetryWait
	api, err := gl.NewClient(c.Token,
		gl.WithBaseURL(base),
		gl.WithHTTPClient(hc),
		gl.WithCustomLimiter(budget),
		gl.WithCustomRetryMax(retries),
		gl.WithCustomRetry(func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			return shouldRetry(ctx, resp, err, maxWait)
		}),
		gl.WithCustomBackoff(backoff),
		gl.WithErrorHandler(retryablehttp.PassthroughErrorHandler),
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab %s: %w", c.Host, err)
	}
	return &Client{API: api, Host: c.Host, BaseURL: base, Budget: budget, Breaker: breaker}, nil
}

// shouldRetry retries 429 (when the wait asked for is at most maxWait),
// 5xx answers of idempotent requests, 502/503/504 of any request (GitLab
// did not act on them), and transport errors of GET and HEAD. An open
// breaker and a done context end the retries.
func shouldRetry(ctx context.Context, resp *http.Response, err error, maxWait time.Duration) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if errors.Is(err, ErrCircuitOpen) {
			return false, err
		}
		if resp != nil && resp.Request != nil {
			m := resp.Request.Method
			return m == http.MethodGet || m == http.MethodHead, nil
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Op == "Get" || ue.Op == "Head", nil
		}
		return false, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		d, ok := retryAfter(resp.Header, time.Now())
		return !ok || d <= maxWait, nil
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		m := ""
		if resp.Request != nil {
			m = resp.Request.Method
		}
		return m != http.MethodPost && m != http.MethodPatch, nil
	}
	return false, nil
}

// backoff waits what a 429 asks for (Retry-After, RateLimit-Reset), else
// doubles from min up to max.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			return d
		}
	}
	d := minWait << attempt
	if d > maxWait || d <= 0 {
		d = maxWait
	}
	return d
}

// Opt returns the request options of a call: its context.
func Opt(ctx context.Context) gl.RequestOptionFunc { return gl.WithContext(ctx) }

// Err turns an error of a call (op says what was asked, "creating project
// platform/svc") into a plugin.Error saying which instance failed, what it
// answered and whose fault it is. nil stays nil.
func (c *Client) Err(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *plugin.Error
	if errors.As(err, &pe) {
		return err
	}
	where := "GitLab " + c.Host
	if errors.Is(err, ErrCircuitOpen) {
		return plugin.Errorf(plugin.ErrUnavailable, "%s: %s: too many failures in a row, requests are paused for a while (circuit breaker); try again later", where, op)
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return plugin.Errorf(plugin.ErrUnavailable, "%s: %s: no answer in time; try again later", where, op)
	}
	if errors.Is(err, context.Canceled) {
		return plugin.Errorf(plugin.ErrUnavailable, "%s: %s: cancelled", where, op)
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.StatusCode == 0 {
		if errors.Is(err, gl.ErrNotFound) {
			return plugin.Errorf(plugin.ErrNotFound, "%s: %s: not found (HTTP 404)", where, op)
		}
		return plugin.Errorf(plugin.ErrUnavailable, "%s: %s: %v", where, op, err)
	}
	msg := er.Message
	if msg == "" {
		msg = http.StatusText(er.StatusCode)
	}
	switch er.StatusCode {
	case http.StatusUnauthorized:
		return plugin.Errorf(plugin.ErrUnauthorized, "%s: %s: HTTP 401 %s; check the token of this instance (plugins.gitlab.config.instances)", where, op, msg)
	case http.StatusForbidden:
		return plugin.Errorf(plugin.ErrForbidden, "%s: %s: HTTP 403 %s; the token lacks a scope (api) or a role on this group or project", where, op, msg)
	case http.StatusNotFound:
		return plugin.Errorf(plugin.ErrNotFound, "%s: %s: not found (HTTP 404) or the token cannot see it", where, op)
	case http.StatusConflict:
		return plugin.Errorf(plugin.ErrConflict, "%s: %s: HTTP 409 %s", where, op, msg)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return plugin.Errorf(plugin.ErrInvalid, "%s: %s: HTTP %d %s", where, op, er.StatusCode, msg)
	case http.StatusTooManyRequests:
		wait := ""
		if er.Response != nil {
			if d, ok := retryAfter(er.Response.Header, time.Now()); ok {
				wait = fmt.Sprintf(" (it asks to wait %s)", d.Round(time.Second))
			}
		}
		return plugin.Errorf(plugin.ErrUnavailable, "%s: %s: rate limited (HTTP 429)%s; try again later or lower requestsPerSecond", where, op, wait)
	}
	if er.StatusCode >= 500 {
		return plugin.Errorf(plugin.ErrUnavailable, "%s: %s: GitLab failed (HTTP %d %s); try again later", where, op, er.StatusCode, msg)
	}
	return plugin.Errorf(plugin.ErrInternal, "%s: %s: HTTP %d %s", where, op, er.StatusCode, msg)
}

// IsNotFound reports whether err is GitLab's 404.
func IsNotFound(err error) bool {
	if err == nil {
		return false
	}
	if plugin.KindOf(err) == plugin.ErrNotFound {
		return true
	}
	var er *gl.ErrorResponse
	return errors.As(err, &er) && er.StatusCode == http.StatusNotFound
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Pages calls list with page 1, 2, … until GitLab says there is no next
// page (X-Next-Page) or limit items were collected (limit <= 0: all).
func Pages[T any](limit int, list func(page int64) ([]T, *gl.Response, error)) ([]T, error) {
	var out []T
	page := int64(1)
	for {
		items, resp, err := list(page)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
		if resp == nil || resp.NextPage == 0 || resp.NextPage <= page {
			return out, nil
		}
		page = resp.NextPage
	}
}

// BlobSHA is git's object id of a blob holding data: what GitLab reports
// as the id of a file in the repository tree, so a local file can be
// compared with the repository's without downloading it.
func BlobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
