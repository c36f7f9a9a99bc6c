package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// client is a keep-alive HTTP client for one server on 127.0.0.1.
type client struct {
	base string
	http *http.Client
}

// newClient returns a client with up to conns idle connections; timeout
// bounds one request (0: one minute).
func newClient(base string, conns int, timeout time.Duration) *client {
	if timeout <= 0 {
		timeout = time.Minute
	}
	tr := &http.Transport{
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// get fetches path and returns the status code and body.
func (c *client) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// getJSON fetches path and decodes a 200 answer into v.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	code, b, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		if len(b) > 300 {
			b = b[:300]
		}
		return fmt.Errorf("GET %s: status %d: %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// byNamePath is the path of GET by-name for a canonical ref.
func byNamePath(kind, namespace, name string) string {
	return "/api/catalog/entities/by-name/" + url.PathEscape(kind) + "/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}
