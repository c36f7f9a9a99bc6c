package ui

import "net/http"

// csrfToken is the value of the hidden csrf_token input every POST form of
// the portal carries. The security middleware checks it; this is the one
// place that asks for it.
func csrfToken(r *http.Request) string {
	return ""
}
