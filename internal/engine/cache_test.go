package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func TestHashSum(t *testing.T) {
	if want := base64.RawURLEncoding.EncodedLen(sha256.Size); hashLen != want {
		t.Fatalf("hashLen %d, want %d", hashLen, want)
	}
	hash := bodyHash([]byte(`{"metadata":{"name":"a","uid":"u1"}}`), "u1", "file:/a.yaml")
	sum, ok := hashSum(hash)
	if !ok {
		t.Fatalf("hashSum(%q) not ok", hash)
	}
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != hash {
		t.Fatalf("got %q, want %q", got, hash)
	}
	if !hashIs(hash, &sum) {
		t.Fatalf("hashIs(%q) false for its own sum", hash)
	}
	other := sum
	other[31] ^= 1
	if hashIs(hash, &other) {
		t.Fatalf("hashIs(%q) true for another sum", hash)
	}
	for _, bad := range []string{"", hash[:42], hash + "A", "!" + hash[1:]} {
		if _, ok := hashSum(bad); ok {
			t.Errorf("hashSum(%q) ok, want not ok", bad)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := hashSum(hash); !ok || !hashIs(hash, &sum) {
			t.Fatal("round trip failed")
		}
	}); n != 0 {
		t.Errorf("%v allocations per hashSum and hashIs, want 0", n)
	}
}
