package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
)

func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	for _, s := range []string{"", "component:default/a", "a\"b", `a\b`, "<x>&y", "\x00\x1f", "déjà", "\u2028\u2029", "bad \xff utf-8", "tab\there"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: got %s, want x%s", s, got, want)
		}
	}
}

func TestSpliceStitchRelationsToEscape(t *testing.T) {
	s := &catalog.Stored{UID: "u-1", Ref: "component:default/a", Hash: "h",
		Body:      []byte(`{"apiVersion":"v1","kind":"Component","metadata":{"name":"a","namespace":"default","uid":"u-1"}}`),
		Relations: []catalog.Relation{{Type: "ownedBy", TargetRef: "group:default/<team> & \"co\""}, {Type: "dependsOn", TargetRef: "component:default/déjà"}}}
	got, ok := spliceStitch(s)
	if !ok {
		t.Fatal("not spliced")
	}
	ent, err := Stitch(s)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(ent)
	if string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// BenchmarkStitchJSON stitches a stored component with six relations.
//
//	go test ./internal/engine -run XX -bench StitchJSON -benchmem
func BenchmarkStitchJSON(b *testing.B) {
	s := &catalog.Stored{UID: "01a24bc4-fbbd-7a47-b7d5-24e01a3dd1b9", Ref: "component:default/comp-lunar-harbor-0", Hash: "h",
		Body: []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"comp-lunar-harbor-0","namespace":"default","uid":"01a24bc4-fbbd-7a47-b7d5-24e01a3dd1b9","description":"The frosty hollow service for parcel tracking.","annotations":{"backstage.io/managed-by-location":"file:/tmp/catalog/components/component-00000.yaml","backstage.io/managed-by-origin-location":"bootstrap:bootstrap"},"tags":["kafka"]},"spec":{"consumesApis":["api-olive-pylon-7211","api-dusty-harbor-13867"],"lifecycle":"experimental","owner":"team-early-anchor-1324","providesApis":["api-calm-kernel-0"],"system":"system-crisp-cargo-2123","type":"service"}}`),
		Relations: []catalog.Relation{
			{Type: "consumesApi", TargetRef: "api:default/api-dusty-harbor-13867"}, {Type: "consumesApi", TargetRef: "api:default/api-olive-pylon-7211"},
			{Type: "ownedBy", TargetRef: "group:default/team-early-anchor-1324"}, {Type: "partOf", TargetRef: "system:default/system-crisp-cargo-2123"},
			{Type: "providesApi", TargetRef: "api:default/api-calm-kernel-0"}, {Type: "dependencyOf", TargetRef: "component:default/comp-x"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := StitchJSON(s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStitchJSONExactCapacity: the final JSON of an entity without status
// has no slack capacity, which the entity cache would account for.
func TestStitchJSONExactCapacity(t *testing.T) {
	s := &catalog.Stored{UID: "u-1", Ref: "component:default/a", Hash: "h",
		Body:      []byte(`{"apiVersion":"v1","kind":"Component","metadata":{"name":"a","namespace":"default","uid":"u-1"},"spec":{"owner":"team-a"}}`),
		Relations: []catalog.Relation{{Type: "ownedBy", TargetRef: "group:default/team-a"}, {Type: "dependsOn", TargetRef: "component:default/some-longer-name-of-a-component"}}}
	for _, rels := range [][]catalog.Relation{nil, s.Relations[:1], s.Relations} {
		s.Relations = rels
		got, err := StitchJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		if cap(got) != len(got) {
			t.Errorf("%d relations: got capacity %d for %d bytes, want %d", len(rels), cap(got), len(got), len(got))
		}
	}
}

// refEtag is the etag as it was first computed, streamed through a
// hash.Hash: appendEtag must give the same etags, so that clients' cached
// etags stay valid across the change.
func refEtag(s *catalog.Stored) string {
	h := sha256.New()
	h.Write([]byte(s.UID))
	h.Write([]byte{0})
	h.Write([]byte(s.Hash))
	for _, r := range s.Relations {
		h.Write([]byte{0})
		h.Write([]byte(r.Type))
		h.Write([]byte{1})
		h.Write([]byte(r.TargetRef))
	}
	if len(s.Errors) > 0 {
		b, _ := json.Marshal(s.Errors)
		h.Write(b)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

func TestEtagUnchanged(t *testing.T) {
	many := make([]catalog.Relation, 100) // past the stack buffer
	for i := range many {
		many[i] = catalog.Relation{Type: "dependsOn", TargetRef: fmt.Sprintf("component:default/c-%d", i)}
	}
	for _, s := range []*catalog.Stored{
		{UID: "u-1", Hash: "h"},
		{UID: "01a24bc4-fbbd-7a47-b7d5-24e01a3dd1b9", Hash: "abc", Relations: []catalog.Relation{{Type: "ownedBy", TargetRef: "group:default/t"}}},
		{UID: "u-2", Hash: "h2", Relations: many},
		{UID: "u-3", Hash: "h3", Errors: []catalog.StatusItem{{Type: "x", Level: "error", Message: "m"}}},
	} {
		want := refEtag(s)
		if got := etag(s); got != want {
			t.Errorf("%s: got %s, want %s", s.UID, got, want)
		}
		if got := string(appendEtag([]byte("x"), s)); got != "x"+want {
			t.Errorf("%s: appended: got %s, want x%s", s.UID, got, want)
		}
		if len(want) != etagLen {
			t.Errorf("%s: etag length %d, want %d", s.UID, len(want), etagLen)
		}
	}
}
