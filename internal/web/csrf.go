package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/fault"
)

// CSRFHeader carries the CSRF token on fetch requests; forms send the
// field CSRFField instead.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// CSRFConfig configures CSRF protection.
type CSRFConfig struct {
	// Key signs tokens. Replicas behind one load balancer need the same
	// key; New fills a random one when empty.
	Key []byte
	// TLS marks the cookie Secure and gives it the __Host- prefix.
	TLS bool
	// Binding returns what a token is bound to besides the browser's CSRF
	// cookie: the session id of a cookie-authenticated request. A token
	// then stops working when the session ends.
	Binding func(r *http.Request) string
	// Origin is the server's own origin (scheme://host[:port] of
	// backend.baseUrl); requests whose Origin header names it are
	// same-origin.
	Origin string
}

// csrfCookie is the cookie name; it carries a random browser id that tokens
// are bound to (double submit, signed).
func (c CSRFConfig) cookieName() string {
	if c.TLS {
		return "__Host-atrium-csrf"
	}
	return "atrium-csrf"
}

// csrfState is the CSRF middleware's view of a request.
type csrfState struct {
	cfg *CSRFConfig // nil outside the CSRF middleware

	mu      sync.Mutex
	browser string              // the browser cookie's value
	w       http.ResponseWriter // where to set a new browser cookie
}

// CSRFToken returns the token a page must send back with a state-changing
// request: as the hidden form field csrf_token, or the X-CSRF-Token header
// for fetch. It is empty outside the CSRF middleware. A safe request that
// came without the browser cookie gets one here, with the answer: it must
// be called before the answer's header is written, as pages do when they
// gather their data. API clients, which never ask for a token, are not
// sent a cookie they would not keep.
func CSRFToken(r *http.Request) string {
	s := stateOf(r.Context())
	if s == nil || s.csrf.cfg == nil {
		return ""
	}
	st := &s.csrf
	st.mu.Lock()
	if st.browser == "" && st.w != nil {
		st.browser = newID() + newID()
		http.SetCookie(st.w, &http.Cookie{
			Name: st.cfg.cookieName(), Value: st.browser, Path: "/", HttpOnly: true,
			Secure: st.cfg.TLS, SameSite: http.SameSiteLaxMode,
		})
	}
	browser := st.browser
	st.mu.Unlock()
	return st.cfg.token(browser, st.cfg.binding(r))
}

func (c *CSRFConfig) binding(r *http.Request) string {
	if c.Binding == nil {
		return ""
	}
	return c.Binding(r)
}

func (c *CSRFConfig) token(browser, binding string) string {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte("atrium-csrf\x00" + browser + "\x00" + binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CSRF refuses state-changing requests (any method but GET, HEAD, OPTIONS
// and TRACE) that a browser may have sent on another site's behalf, unless
// they carry the token CSRFToken gives out. It runs after authentication.
// Exempt are requests with an Authorization header (API clients: a browser
// never adds one by itself), and requests with neither cookies nor a
// cross-site Origin or Sec-Fetch-Site header (command-line clients). The
// browser cookie the token is bound to is set with the first token given
// out to a browser that lacks it.
func CSRF(c CSRFConfig) Middleware {
	if len(c.Key) == 0 {
		c.Key = make([]byte, 32)
		_, _ = rand.Read(c.Key)
	}
	cfg := &c
	name := c.cookieName()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r := withState(r)
			st := &s.csrf
			st.cfg = cfg
			if r.Header.Get("Cookie") != "" {
				if ck, err := r.Cookie(name); err == nil && len(ck.Value) >= 16 {
					st.browser = ck.Value
				}
			}
			if safeMethod(r.Method) {
				st.w = w // CSRFToken sets the browser cookie when it is missing
				next.ServeHTTP(w, r)
				return
			}
			if !cfg.needsToken(r) {
				next.ServeHTTP(w, r)
				return
			}
			got := r.Header.Get(CSRFHeader)
			if got == "" {
				got = formToken(r)
			}
			if st.browser == "" || got == "" || !hmac.Equal([]byte(got), []byte(cfg.token(st.browser, cfg.binding(r)))) {
				WriteError(w, r, fault.New(fault.Forbidden, "missing or invalid CSRF token: send the page's csrf_token form field or the X-CSRF-Token header"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// needsToken reports whether r may come from a browser acting for another
// site: it carries cookies, or says it is cross-site.
func (c *CSRFConfig) needsToken(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	if len(r.Cookies()) > 0 {
		return true
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return true
	}
	if o := r.Header.Get("Origin"); o != "" && !c.sameOrigin(r, o) {
		return true
	}
	return false
}

func (c *CSRFConfig) sameOrigin(r *http.Request, origin string) bool {
	if c.Origin != "" && strings.EqualFold(origin, c.Origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// formToken reads csrf_token from a urlencoded or multipart form body. The
// body stays readable for the handler (ParseForm keeps r.PostForm).
func formToken(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !strings.HasPrefix(ct, "multipart/form-data") {
		return ""
	}
	if strings.HasPrefix(ct, "multipart/") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return ""
		}
	} else if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostFormValue(CSRFField)
}
