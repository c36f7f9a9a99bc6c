package web

import (
	"net"
	"net/http"
	"strings"
)

// TrustProxy makes r.RemoteAddr the client's address when hops reverse
// proxies stand in front of Atrium: the hops-th address from the right of
// X-Forwarded-For, the one the outermost trusted proxy saw. Addresses to its
// left were written by the client and are ignored. With hops 0 (no proxy)
// the header is ignored: anyone can send it. Rate limits, the access log and
// the audit log all read r.RemoteAddr.
func TrustProxy(hops int) Middleware {
	return func(next http.Handler) http.Handler {
		if hops <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var addrs []string
			for _, h := range r.Header.Values("X-Forwarded-For") {
				for _, a := range strings.Split(h, ",") {
					if a = strings.TrimSpace(a); a != "" {
						addrs = append(addrs, a)
					}
				}
			}
			if len(addrs) >= hops {
				if ip := net.ParseIP(addrs[len(addrs)-hops]); ip != nil {
					r2 := r.Clone(r.Context())
					r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
					r = r2
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
