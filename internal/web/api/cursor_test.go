package api

import (
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

func TestCursorRoundTrip(t *testing.T) {
	v := "b"
	total := 7
	in := queryCursor{
		Filter:     catalog.All(catalog.In("kind", "component"), catalog.Not(catalog.Exists("spec.system"))),
		Order:      &store.Order{Field: "metadata.name", Desc: true},
		FullText:   &store.FullText{Term: "pay", Fields: []string{"metadata.name"}},
		Position:   &store.Position{Value: &v, UID: "u1"},
		Direction:  dirPrev,
		TotalItems: &total,
	}
	out, err := decodeCursor(encodeCursor(in))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got, want := encodeCursor(*out), encodeCursor(in); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCursorRejects(t *testing.T) {
	deep := `{"Op":3,"Children":[` + strings.Repeat(`{"Op":3,"Children":[`, 70) + `{"Op":0,"Key":"kind","Match":0}` + strings.Repeat(`]}`, 70) + `]}`
	tests := []struct {
		name, json string
	}{
		{"no position", `{"direction":"next"}`},
		{"bad direction", `{"position":{"UID":"x"},"direction":"sideways"}`},
		{"empty order field", `{"position":{"UID":"x"},"direction":"next","order":{"Field":""}}`},
		{"bad op", `{"position":{"UID":"x"},"direction":"next","filter":{"Op":9}}`},
		{"bad match", `{"position":{"UID":"x"},"direction":"next","filter":{"Op":0,"Key":"k","Match":7}}`},
		{"empty key", `{"position":{"UID":"x"},"direction":"next","filter":{"Op":0,"Key":"","Match":0}}`},
		{"not without child", `{"position":{"UID":"x"},"direction":"next","filter":{"Op":3}}`},
		{"prefix without value", `{"position":{"UID":"x"},"direction":"next","filter":{"Op":0,"Key":"k","Match":2}}`},
		{"nil child", `{"position":{"UID":"x"},"direction":"next","filter":{"Op":1,"Children":[null]}}`},
		{"too deep", `{"position":{"UID":"x"},"direction":"next","filter":` + deep + `}`},
		{"not json", `nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := b64(tt.json)
			if _, err := decodeCursor(s); err == nil {
				t.Errorf("got no error, want one for %s", tt.json)
			}
		})
	}
}

func b64(s string) string {
	return encodeRaw([]byte(s))
}

func FuzzDecodeCursor(f *testing.F) {
	v := "x"
	f.Add(encodeCursor(queryCursor{Position: &store.Position{Value: &v, UID: "u"}, Direction: dirNext, Filter: catalog.In("kind", "api")}))
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		if c.Position == nil {
			t.Errorf("accepted a cursor without a position: %q", s)
		}
	})
}
