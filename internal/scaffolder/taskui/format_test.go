package taskui

import (
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{0, ""},
		{-time.Second, ""},
		{300 * time.Microsecond, "<1ms"},
		{850 * time.Millisecond, "850ms"},
		{4230 * time.Millisecond, "4.2s"},
		{185 * time.Second, "3m5s"},
		{2*time.Hour + 10*time.Minute + 20*time.Second, "2h10m0s"},
	} {
		if got := formatDuration(tt.in); got != tt.want {
			t.Errorf("formatDuration(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOutputs(t *testing.T) {
	links, texts := outputs(map[string]any{
		"links": []any{
			map[string]any{"title": "Repository", "url": "https://git.example.com/a/b"},
			map[string]any{"entityRef": "component:default/svc"},
			map[string]any{"title": "Evil", "url": "javascript:alert(1)"},
			map[string]any{"title": "Relative", "url": "/catalog"},
			"not an object",
		},
		"text": []any{map[string]any{"title": "Next", "content": "**bold** <script>alert(1)</script>"}},
	})
	want := []linkView{{Title: "Repository", Href: "https://git.example.com/a/b", Kind: "url"}, {Title: "Open in catalog", Href: "/catalog/default/component/svc", Kind: "entity"}}
	if len(links) != len(want) || links[0] != want[0] || links[1] != want[1] {
		t.Errorf("links: got %+v, want %+v", links, want)
	}
	if len(texts) != 1 || texts[0].Title != "Next" || !strings.Contains(string(texts[0].Content), "<strong>bold</strong>") || strings.Contains(string(texts[0].Content), "<script") {
		t.Errorf("texts: got %+v, want the sanitised markdown", texts)
	}
}
