package pluginhost

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Fetcher reads the registry's index and plugin executables: local files,
// or HTTPS from the allowed hosts only, bounded in size.
type Fetcher struct {
	// AllowedHosts are host or host:port entries (atrium.pluginHost.allowedHosts).
	AllowedHosts []string
	// RootCAs, when set, are the certificate authorities trusted for
	// HTTPS (the system's otherwise).
	RootCAs *x509.CertPool
	// MaxIndexBytes and MaxDownloadBytes bound what is read.
	MaxIndexBytes    int64
	MaxDownloadBytes int64
	// Timeout bounds one download (default 10 minutes).
	Timeout time.Duration

	client *http.Client
}

// LoadCAFile reads a PEM file of certificate authorities into a pool that
// also holds the system's.
func LoadCAFile(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("atrium.pluginHost.caFile: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("atrium.pluginHost.caFile: %s holds no PEM certificate", file)
	}
	return pool, nil
}

// checkURL refuses anything but HTTPS to an allowed host.
func (f *Fetcher) checkURL(u *url.URL) error {
	if u.Scheme != "https" {
		return fmt.Errorf("%s: only https:// URLs are allowed for plugins", u.Redacted())
	}
	host := strings.ToLower(u.Hostname())
	for _, a := range f.AllowedHosts {
		a = strings.ToLower(a)
		if a == host || a == strings.ToLower(u.Host) {
			return nil
		}
		if h, p, err := net.SplitHostPort(a); err == nil && h == host && p == u.Port() {
			return nil
		}
	}
	return fmt.Errorf("%s: host %s is not in atrium.pluginHost.allowedHosts", u.Redacted(), u.Host)
}

func (f *Fetcher) httpClient() *http.Client {
	if f.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: f.RootCAs}
		t.Proxy = http.ProxyFromEnvironment
		timeout := f.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Minute
		}
		f.client = &http.Client{
			Transport: t,
			Timeout:   timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errors.New("too many redirects")
				}
				return f.checkURL(req.URL)
			},
		}
	}
	return f.client
}

// open returns a reader of the file or URL target and its size (-1 when
// unknown). It refuses targets larger than max.
func (f *Fetcher) open(ctx context.Context, target string, max int64) (io.ReadCloser, int64, error) {
	if !strings.Contains(target, "://") {
		file, err := os.Open(target)
		if err != nil {
			return nil, 0, err
		}
		st, err := file.Stat()
		if err != nil {
			file.Close()
			return nil, 0, err
		}
		if st.Size() > max {
			file.Close()
			return nil, 0, fmt.Errorf("%s is %d bytes, over the limit of %d", target, st.Size(), max)
		}
		return file, st.Size(), nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, 0, fmt.Errorf("%q is not a URL: %v", target, err)
	}
	if err := f.checkURL(u); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("fetching %s: %s", u.Redacted(), resp.Status)
	}
	if resp.ContentLength > max {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("%s is %d bytes, over the limit of %d", u.Redacted(), resp.ContentLength, max)
	}
	return resp.Body, resp.ContentLength, nil
}

// LoadIndex reads and parses the index at source (a file path or an
// https:// URL).
func (f *Fetcher) LoadIndex(ctx context.Context, source string) (*Index, error) {
	if source == "" {
		return nil, errors.New("no plugin registry is configured (atrium.pluginHost.registry)")
	}
	max := f.MaxIndexBytes
	if max <= 0 {
		max = 4 << 20
	}
	rc, _, err := f.open(ctx, source, max)
	if err != nil {
		return nil, fmt.Errorf("reading the plugin index: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading the plugin index %s: %w", source, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("the plugin index %s is over the limit of %d bytes (atrium.pluginHost.maxIndexBytes)", source, max)
	}
	return ParseIndex(source, data)
}

// resolve returns the artifact's location: relative URLs are taken from
// the index's directory (file) or URL.
func resolve(indexSource, ref string) (string, error) {
	if strings.Contains(ref, "://") {
		return ref, nil
	}
	if strings.Contains(indexSource, "://") {
		base, err := url.Parse(indexSource)
		if err != nil {
			return "", err
		}
		r, err := url.Parse(ref)
		if err != nil {
			return "", fmt.Errorf("%q is not a URL: %v", ref, err)
		}
		return base.ResolveReference(r).String(), nil
	}
	if filepath.IsAbs(ref) {
		return ref, nil
	}
	return filepath.Join(filepath.Dir(indexSource), filepath.FromSlash(ref)), nil
}
