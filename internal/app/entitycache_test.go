package app_test

import (
	"testing"
)

// TestEntityCacheUnderAuthorization checks that an entity served from the
// engine's cache of final JSON still goes through the read permission: the
// cache sits under authorization.
func TestEntityCacheUnderAuthorization(t *testing.T) {
	s, jane, sam, _ := authzServer(t)
	const byName = "/api/catalog/entities/by-name/component/default/vault"
	var vault namedEntity
	// sam (security) may read the secret entity: this fills the cache.
	for range 3 {
		if code := call(t, s, sam, "GET", byName, "", &vault); code != 200 {
			t.Fatalf("sam: got %d, want 200", code)
		}
	}
	if vault.Metadata.Name != "vault" || vault.Metadata.UID == "" {
		t.Fatalf("sam: got %+v", vault)
	}
	byUID := "/api/catalog/entities/by-uid/" + vault.Metadata.UID
	if code := call(t, s, sam, "GET", byUID, "", nil); code != 200 {
		t.Fatalf("sam by uid: got %d, want 200", code)
	}
	// jane may not: the cached entity must look absent to her, every time.
	for range 3 {
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		if code := call(t, s, jane, "GET", byName, "", &body); code != 404 {
			t.Fatalf("jane by name: got %d, want 404", code)
		}
		if want := "No entity named 'vault' found, with kind 'component' in namespace 'default'"; body.Error.Message != want {
			t.Fatalf("jane by name: message %q, want %q", body.Error.Message, want)
		}
		if code := call(t, s, jane, "GET", byUID, "", nil); code != 404 {
			t.Fatalf("jane by uid: got %d, want 404", code)
		}
	}
	// Entities she may read are served to her, from the cache too.
	for range 2 {
		var e namedEntity
		if code := call(t, s, jane, "GET", "/api/catalog/entities/by-name/component/default/a-svc", "", &e); code != 200 || e.Metadata.Name != "a-svc" {
			t.Fatalf("jane a-svc: got %d %+v", code, e)
		}
	}
	if code := call(t, s, sam, "GET", byName, "", &vault); code != 200 {
		t.Fatalf("sam again: got %d, want 200", code)
	}
}
