package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// AllowedHost is an entry of backend.reading.allow: a host (with port when
// not the default; "*.example.com" matches subdomains) and optional path
// prefixes.
type AllowedHost struct {
	Host  string
	Paths []string
}

// URLReader reads "url" locations over HTTP(S) from allowed hosts only.
type URLReader struct {
	// Client does the requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds one read; 0 means 30 s.
	Timeout time.Duration
	// MaxBytes is the largest body read; 0 means 1 MiB.
	MaxBytes int64
	// Allow lists the hosts that may be read. Empty allows none.
	Allow []AllowedHost
}

var _ Reader = (*URLReader)(nil)

// Read fetches target with GET.
func (r *URLReader) Read(ctx context.Context, target string) ([]byte, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fault.New(fault.Invalid, "%q is not an absolute http(s) URL", target)
	}
	if !r.allows(u) {
		return nil, fault.New(fault.Forbidden, "reading %s is not allowed; add host %q to backend.reading.allow", target, u.Host)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%q is not a valid URL", target)
	}
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fault.Upstream(err, "cannot read %s: %s", target, netErrText(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fault.New(fault.NotFound, "%s does not exist (HTTP 404)", target)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fault.Upstream(nil, "cannot read %s: HTTP %d", target, resp.StatusCode)
	}
	limit := r.MaxBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fault.Upstream(err, "cannot read %s: %s", target, netErrText(err))
	}
	if int64(len(data)) > limit {
		return nil, fault.New(fault.TooLarge, "%s is larger than the limit of %d bytes", target, limit)
	}
	return data, nil
}

// allows reports whether u is on an allowed host and path.
func (r *URLReader) allows(u *url.URL) bool {
	host := strings.ToLower(u.Host)
	hostname := strings.ToLower(u.Hostname())
	for _, a := range r.Allow {
		h := strings.ToLower(a.Host)
		match := h == host || h == hostname
		if !match && strings.HasPrefix(h, "*.") {
			suffix := h[1:]
			match = strings.HasSuffix(host, suffix) || strings.HasSuffix(hostname, suffix)
		}
		if !match {
			continue
		}
		if len(a.Paths) == 0 {
			return true
		}
		for _, p := range a.Paths {
			if strings.HasPrefix(u.Path, p) {
				return true
			}
		}
	}
	return false
}

// netErrText is a short reason for a transport error.
func netErrText(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
