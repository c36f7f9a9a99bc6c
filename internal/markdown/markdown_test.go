package markdown

import (
	"strings"
	"testing"
)

func TestRenderHostile(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		absent []string
		want   []string
	}{
		{"script tag", "hello <script>alert(1)</script>", []string{"<script", "alert(1)"}, []string{"hello"}},
		{"javascript link", "[x](javascript:alert(1))", []string{"javascript:"}, []string{"x"}},
		{"javascript link mixed case", "[x](JaVaScRiPt:alert(1))", []string{"alert"}, nil},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", []string{"data:"}, nil},
		{"event handler", `<img src="a.png" onerror="alert(1)">`, []string{"onerror"}, nil},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, []string{"<iframe"}, nil},
		{"style", `<p style="position:fixed">x</p>`, []string{"style="}, nil},
		{"svg", `<svg><script>alert(1)</script></svg>`, []string{"<svg", "<script"}, nil},
		{"autolink", "<javascript:alert(1)>", []string{`href="javascript`}, nil},
		{"kept markup", "<details><summary>more</summary>text</details>", nil, []string{"<details>", "<summary>more</summary>"}},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", nil, []string{"<table>", "<td>1</td>"}},
		{"code class", "```go\nfunc x() {}\n```", nil, []string{`class="language-go"`}},
		{"external link", "[x](https://example.com)", nil, []string{`target="_blank"`, "noopener"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Render([]byte(tt.src), Options{}).HTML)
			for _, a := range tt.absent {
				if strings.Contains(strings.ToLower(got), strings.ToLower(a)) {
					t.Errorf("got %q, want no %q", got, a)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q, want %q in it", got, w)
				}
			}
		})
	}
}

func TestRenderHeadingsAndText(t *testing.T) {
	d := Render([]byte("# Tracking *service*\n\nSome `code` here.\n\n## How it works\n\n## How it works\n"), Options{})
	if d.Title != "Tracking service" {
		t.Errorf("got title %q, want %q", d.Title, "Tracking service")
	}
	var ids []string
	for _, h := range d.Headings {
		ids = append(ids, h.ID)
	}
	if got, want := strings.Join(ids, ","), "tracking-service,how-it-works,how-it-works-1"; got != want {
		t.Errorf("got ids %v, want %v", got, want)
	}
	if !strings.Contains(d.Text, "Some code here.") {
		t.Errorf("got text %q, want it to hold the paragraph", d.Text)
	}
	if !strings.Contains(string(d.HTML), `id="how-it-works-1"`) {
		t.Errorf("got %s, want heading ids kept by the sanitiser", d.HTML)
	}
}

func TestRenderRewrite(t *testing.T) {
	d := Render([]byte("[run](runbook.md) ![a](img/a.png)"), Options{Rewrite: func(dest string, image bool) string {
		if image {
			return "/img/" + dest
		}
		return "/page/" + dest
	}})
	for _, w := range []string{`href="/page/runbook.md"`, `src="/img/img/a.png"`} {
		if !strings.Contains(string(d.HTML), w) {
			t.Errorf("got %s, want %s", d.HTML, w)
		}
	}
}
