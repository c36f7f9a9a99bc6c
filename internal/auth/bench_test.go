package auth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// noRateLimit lets a benchmark send thousands of requests as one principal.
const noRateLimit = "atrium:\n  rateLimit: { enabled: false }\n"

// benchUserinfo measures whole GET /api/auth/v1/userinfo requests over
// loopback HTTP with the given bearer token ("" is the development user).
func benchUserinfo(b *testing.B, s *server, bearer string) {
	req, _ := http.NewRequest("GET", s.URL+"/api/auth/v1/userinfo", nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	client := &http.Client{}
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("got %d, want 200", resp.StatusCode)
		}
	}
}

// BenchmarkRequestDevelopment is the baseline: no credential to check.
func BenchmarkRequestDevelopment(b *testing.B) {
	benchUserinfo(b, devAtrium(b, noRateLimit), "")
}

// BenchmarkRequestPersonalToken adds hashing the token, looking it up in
// SQLite and the cached ownership.
func BenchmarkRequestPersonalToken(b *testing.B) {
	s := devAtrium(b, noRateLimit)
	_, body := call(b, http.DefaultClient, "POST", s.URL+"/api/auth/tokens", "", `{"name":"bench"}`)
	var tok createdToken
	if err := json.Unmarshal(body, &tok); err != nil {
		b.Fatal(err)
	}
	benchUserinfo(b, s, tok.Token)
}

// BenchmarkRequestStaticToken checks a static externalAccess token.
func BenchmarkRequestStaticToken(b *testing.B) {
	s := devAtrium(b, noRateLimit+"backend:\n  auth:\n    externalAccess:\n      - { type: static, options: { token: bench-static-token, subject: bench } }\n")
	benchUserinfo(b, s, "bench-static-token")
}
