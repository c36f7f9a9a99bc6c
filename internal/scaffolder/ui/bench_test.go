package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The create pages' cost per request on the demo catalog (SQLite, rate
// limits off):
//
//	go test ./internal/scaffolder/ui -run XXX -bench . -benchtime 500x
func BenchmarkGallery(b *testing.B) {
	c := client{t: b, base: startWith(b, "  rateLimit: { enabled: false }", "").BaseURL}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, _ := c.req("GET", "/create?tag=go", "", "", map[string]string{"Accept": "text/html"}); res.StatusCode != 200 {
			b.Fatal(res.Status)
		}
	}
}

func BenchmarkForm(b *testing.B) {
	c := client{t: b, base: startWith(b, "  rateLimit: { enabled: false }", "").BaseURL}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, _ := c.req("GET", "/create/templates/default/go-service", "", "", map[string]string{"Accept": "text/html"}); res.StatusCode != 200 {
			b.Fatal(res.Status)
		}
	}
}

// BenchmarkNext is one page step: decode, validate the page, render the next.
func BenchmarkNext(b *testing.B) {
	c := client{t: b, base: startWith(b, "  rateLimit: { enabled: false }", "").BaseURL}
	form := url.Values{"_page": {"0"}, "_action": {"next"}, "v:name": {"shop"}, "v:owner": {"group:default/platform-team"}, "v:description": {"x"}}
	body := form.Encode()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, _ := c.req("POST", "/create/templates/default/go-service", "application/x-www-form-urlencoded", body, nil); res.StatusCode != http.StatusOK {
			b.Fatal(res.Status)
		}
	}
}

func BenchmarkSuggest(b *testing.B) {
	c := client{t: b, base: startWith(b, "  rateLimit: { enabled: false }", "").BaseURL}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, out := c.req("GET", "/create/templates/default/docs-site/suggest?field=v:owner&q=team", "", "", nil)
		if res.StatusCode != 200 || !strings.Contains(string(out), "items") {
			b.Fatal(res.Status)
		}
	}
}
