// Package markdown turns user-written Markdown (TechDocs pages, API
// descriptions) into HTML that is safe to put in a page: GitHub-flavoured
// Markdown through goldmark, with every result sanitised by bluemonday, so
// raw HTML, script tags and javascript: links never reach the browser.
package markdown

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// Heading is a heading of a document, for a table of contents.
type Heading struct {
	Level int
	ID    string
	Text  string
}

// Document is rendered Markdown.
type Document struct {
	// HTML is sanitised and safe to embed.
	HTML template.HTML
	// Title is the text of the first level-1 heading, if any.
	Title string
	// Headings lists every heading in order, with the id of its anchor.
	Headings []Heading
	// Text is the document's plain text, for search indexes.
	Text string
}

// Options change how a document is rendered.
type Options struct {
	// Rewrite, when set, maps every link and image destination before
	// rendering (TechDocs uses it to point relative links at its routes).
	// The result is still sanitised.
	Rewrite func(dest string, image bool) string
}

var (
	md = goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		// Raw HTML is parsed so that harmless markup (details, kbd, sup)
		// survives; the sanitiser below removes everything else.
		goldmark.WithRendererOptions(html.WithUnsafe()),
	)
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// Policy returns the sanitiser every rendered document goes through: the
// user-generated-content policy plus code-language classes, with links
// opened safely.
func Policy() *bluemonday.Policy {
	policyOnce.Do(func() {
		p := bluemonday.UGCPolicy()
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]+$`)).OnElements("code")
		p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
		p.AllowAttrs("type", "checked", "disabled").OnElements("input")
		p.AddTargetBlankToFullyQualifiedLinks(true)
		policy = p
	})
	return policy
}

// Render renders src. It never fails: Markdown has no syntax errors, and
// whatever cannot be represented safely is dropped by the sanitiser.
func Render(src []byte, opts Options) Document {
	doc := md.Parser().Parse(text.NewReader(src))
	var d Document
	var plain strings.Builder
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			h := Heading{Level: n.Level, Text: nodeText(n, src)}
			if id, ok := n.AttributeString("id"); ok {
				if b, ok := id.([]byte); ok {
					h.ID = string(b)
				}
			}
			if h.Level == 1 && d.Title == "" {
				d.Title = h.Text
			}
			d.Headings = append(d.Headings, h)
		case *ast.Link:
			if opts.Rewrite != nil {
				n.Destination = []byte(opts.Rewrite(string(n.Destination), false))
			}
		case *ast.Image:
			if opts.Rewrite != nil {
				n.Destination = []byte(opts.Rewrite(string(n.Destination), true))
			}
		case *ast.Text:
			plain.Write(n.Segment.Value(src))
			if n.SoftLineBreak() || n.HardLineBreak() {
				plain.WriteByte(' ')
			}
		case *ast.String:
			plain.Write(n.Value)
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				plain.Write(seg.Value(src))
			}
		}
		if n.Type() == ast.TypeBlock {
			plain.WriteByte('\n')
		}
		return ast.WalkContinue, nil
	})
	var buf bytes.Buffer
	// Rendering an in-memory AST into a buffer cannot fail.
	_ = md.Renderer().Render(&buf, src, doc)
	d.HTML = template.HTML(Policy().SanitizeBytes(buf.Bytes()))
	d.Text = strings.TrimSpace(plain.String())
	return d
}

// HTML renders src and returns only the sanitised HTML, for descriptions.
func HTML(src string) template.HTML {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	return Render([]byte(src), Options{}).HTML
}

// nodeText gathers the literal text under n.
func nodeText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
		case *ast.String:
			b.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}
