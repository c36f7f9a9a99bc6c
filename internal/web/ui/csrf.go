package ui

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/web"
)

// csrfToken is the value of the hidden csrf_token input every POST form of
// the portal carries; the security middleware checks it.
func csrfToken(r *http.Request) string {
	return web.CSRFToken(r)
}
