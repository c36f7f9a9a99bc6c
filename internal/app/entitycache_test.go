package app_test

import (
	"fmt"
	"path/filepath"
	"strings"
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

// TestUpdateLocationNeedsUnconditionalPermissions checks PUT
// /locations/{id} under the example policy: owners may register and
// unregister their locations, but not point one at another target.
func TestUpdateLocationNeedsUnconditionalPermissions(t *testing.T) {
	s, jane, _, dir := authzServer(t)
	var created struct {
		Location struct{ ID string } `json:"location"`
	}
	mine := fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, "mine.yaml"))
	if code := call(t, s, jane, "POST", "/api/catalog/locations", mine, &created); code != 201 {
		t.Fatalf("jane registers team-a's location: got %d, want 201", code)
	}
	var errBody struct {
		Error struct{ Message string } `json:"error"`
	}
	theirs := fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, "theirs.yaml"))
	code := call(t, s, jane, "PUT", "/api/catalog/locations/"+created.Location.ID, theirs, &errBody)
	if code != 403 || !strings.Contains(errBody.Error.Message, "updating a location needs the permission on every entity") {
		t.Fatalf("jane moves her location: got %d %q, want 403", code, errBody.Error.Message)
	}
	var loc struct{ Target string }
	if code := call(t, s, jane, "GET", "/api/catalog/locations/"+created.Location.ID, "", &loc); code != 200 || !strings.HasSuffix(loc.Target, "mine.yaml") {
		t.Fatalf("the location after the refusal: got %d %+v, want it unchanged", code, loc)
	}
	if code := call(t, s, jane, "GET", "/api/catalog/entities/by-name/component/default/reg-team-a", "", nil); code != 200 {
		t.Fatalf("the location's entity after the refusal: got %d, want 200", code)
	}
}
