package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
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

// loadConn is one keep-alive HTTP/1.1 connection of the load phase. It
// sends a GET whose bytes are built in a reused buffer and reads the whole
// answer (status line, headers, and every byte of a Content-Length or
// chunked body) through one bufio.Reader: a real request over loopback
// that costs the shared cores a fraction of net/http's client, whose
// per-request goroutines, header maps and body wrappers cost about as
// much CPU as the server's answer to a cached by-name request.
type loadConn struct {
	addr    string // host:port
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
	req     []byte
	scratch []byte
}

// newLoadConn returns a connection to the server at base (http://host:port);
// it dials on first use and again after any failure.
func newLoadConn(base string, timeout time.Duration) (*loadConn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load client: base %q is not http://host:port", base)
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	return &loadConn{addr: u.Host, timeout: timeout, scratch: make([]byte, 32<<10)}, nil
}

// get sends GET path and reads the whole answer; it returns the status
// code and the body's length.
func (lc *loadConn) get(ctx context.Context, path string) (int, int64, error) {
	code, n, err := lc.roundTrip(ctx, path)
	if err != nil {
		lc.close()
	}
	return code, n, err
}

func (lc *loadConn) close() {
	if lc.c != nil {
		lc.c.Close()
		lc.c = nil
	}
}

func (lc *loadConn) roundTrip(ctx context.Context, path string) (int, int64, error) {
	if lc.c == nil {
		d := net.Dialer{Timeout: lc.timeout}
		c, err := d.DialContext(ctx, "tcp", lc.addr)
		if err != nil {
			return 0, 0, err
		}
		lc.c = c
		if lc.br == nil {
			lc.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			lc.br.Reset(c)
		}
	}
	deadline := time.Now().Add(lc.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := lc.c.SetDeadline(deadline); err != nil {
		return 0, 0, err
	}
	lc.req = append(lc.req[:0], "GET "...)
	lc.req = append(lc.req, path...)
	lc.req = append(lc.req, " HTTP/1.1\r\nHost: "...)
	lc.req = append(lc.req, lc.addr...)
	lc.req = append(lc.req, "\r\nUser-Agent: atrium-bench\r\nAccept: application/json\r\n\r\n"...)
	if _, err := lc.c.Write(lc.req); err != nil {
		return 0, 0, err
	}
	return lc.readResponse()
}

// readResponse reads one answer to a GET: the status line, the headers,
// and the body, which is counted and dropped.
func (lc *loadConn) readResponse() (int, int64, error) {
	line, err := lc.line()
	if err != nil {
		return 0, 0, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, fmt.Errorf("malformed status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, closing := int64(-1), false, false
	for {
		line, err := lc.line()
		if err != nil {
			return 0, 0, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, fmt.Errorf("malformed header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, 0, fmt.Errorf("malformed Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			closing = asciiEqualFold(value, "close")
		}
	}
	var n int64
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified || code < 200:
	case chunked:
		n, err = lc.chunked()
	case length >= 0:
		n, err = lc.discard(length)
	default:
		// No length: the body runs to the end of the connection.
		n, err = io.CopyBuffer(io.Discard, lc.br, lc.scratch)
		closing = true
	}
	if err != nil {
		return 0, 0, err
	}
	if closing {
		lc.close()
	}
	return code, n, nil
}

// line returns the next header line without its CRLF; the slice is valid
// until the next read.
func (lc *loadConn) line() ([]byte, error) {
	line, err := lc.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// discard reads n bytes of body.
func (lc *loadConn) discard(n int64) (int64, error) {
	got, err := lc.br.Discard(int(n))
	if err == nil && int64(got) != n {
		err = io.ErrUnexpectedEOF
	}
	return int64(got), err
}

// chunked reads a chunked body to its last chunk and trailers.
func (lc *loadConn) chunked() (int64, error) {
	var total int64
	for {
		line, err := lc.line()
		if err != nil {
			return total, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return total, fmt.Errorf("malformed chunk size %q", line)
		}
		if size == 0 {
			for { // trailers, then the empty line
				line, err := lc.line()
				if err != nil {
					return total, err
				}
				if len(line) == 0 {
					return total, nil
				}
			}
		}
		n, err := lc.discard(size)
		total += n
		if err != nil {
			return total, err
		}
		if line, err := lc.line(); err != nil || len(line) != 0 {
			return total, fmt.Errorf("chunk not followed by CRLF")
		}
	}
}

// asciiEqualFold reports whether b equals s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
