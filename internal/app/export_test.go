package app

import "net/http"

// Handler returns the HTTP handler with all its middleware, for tests
// and benchmarks that serve requests in process.
func (a *App) Handler() http.Handler { return a.server.Handler() }
