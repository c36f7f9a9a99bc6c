package graph

import (
	"bytes"
	"html/template"
	"net/url"
	"strconv"
	"strings"
)

// kindColours fill the nodes of each kind; the legend shows them. CSS can
// override them through the kind-* classes (the dark theme does).
var kindColours = map[string]string{
	"component": "#cfe3ff",
	"api":       "#d5f2cc",
	"resource":  "#ffe2bf",
	"system":    "#e6d9ff",
	"domain":    "#ffd3e4",
	"group":     "#fff1a8",
	"user":      "#cdeeea",
	"location":  "#e3e3e3",
	"template":  "#f2dfcc",
}

const otherColour = "#eeeeee"

// Href returns the portal URL of an entity page.
func Href(namespace, kind, name string) string {
	return "/catalog/" + url.PathEscape(strings.ToLower(namespace)) + "/" +
		url.PathEscape(strings.ToLower(kind)) + "/" + url.PathEscape(name)
}

// svgNode is what the template needs of a node.
type svgNode struct {
	X, Y, W, H   string
	TextX        string
	KindY        string
	NameY        string
	Fill         string
	Class        string
	Kind         string
	Label        string
	Tooltip      string
	Href         string
	Root, Dashed bool
}

type svgEdge struct {
	Path    string
	Tooltip string
	Type    string
	HasLbl  bool
	LX, LY  string // label box
	LW, LH  string
	TX, TY  string // label text anchor
}

type svgLegend struct {
	X, Y, TX, TY string
	Fill, Kind   string
}

type svgData struct {
	ViewBox       string
	Width, Height string
	Title         string
	Nodes         []svgNode
	Edges         []svgEdge
	Legend        []svgLegend
}

var svgTemplate = template.Must(template.New("graph").Funcs(template.FuncMap{"safeclass": classSafe}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="relgraph" viewBox="{{.ViewBox}}" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}}" font-family="system-ui, sans-serif"><title>{{.Title}}</title>` +
	`<defs><marker id="relgraph-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>` +
	`<g class="relgraph-viewport">` +
	`<g class="relgraph-legend">{{range .Legend}}<rect x="{{.X}}" y="{{.Y}}" width="14" height="14" rx="3" fill="{{.Fill}}" stroke="#6b7280" class="kind-{{.Kind | safeclass}}"/><text x="{{.TX}}" y="{{.TY}}" font-size="12" fill="#374151">{{.Kind}}</text>{{end}}</g>` +
	`<g class="relgraph-edges">{{range .Edges}}<g class="relgraph-edge"><title>{{.Tooltip}}</title><path d="{{.Path}}" fill="none" stroke="#6b7280" stroke-width="1.3" marker-end="url(#relgraph-arrow)"/>` +
	`{{if .HasLbl}}<rect x="{{.LX}}" y="{{.LY}}" width="{{.LW}}" height="{{.LH}}" rx="3" fill="#ffffff" fill-opacity="0.85" class="relgraph-label-bg"/><text x="{{.TX}}" y="{{.TY}}" font-size="10" text-anchor="middle" fill="#374151" class="relgraph-label">{{.Type}}</text>{{end}}</g>{{end}}</g>` +
	`<g class="relgraph-nodes">{{range .Nodes}}{{if .Href}}<a href="{{.Href}}" class="relgraph-link">{{end}}<g class="relgraph-node kind-{{.Class}}{{if .Root}} relgraph-root{{end}}"><title>{{.Tooltip}}</title>` +
	`<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" rx="6" fill="{{.Fill}}" stroke="{{if .Root}}#111827{{else}}#6b7280{{end}}" stroke-width="{{if .Root}}2.5{{else}}1{{end}}"{{if .Dashed}} stroke-dasharray="4 3"{{end}}/>` +
	`<text x="{{.TextX}}" y="{{.KindY}}" font-size="9" fill="#4b5563">{{.Kind}}</text><text x="{{.TextX}}" y="{{.NameY}}" font-size="12" fill="#111827"{{if .Root}} font-weight="bold"{{end}}>{{.Label}}</text></g>{{if .Href}}</a>{{end}}{{end}}</g>` +
	`</g></svg>`))

// SVG renders a drawing as an inline SVG element. Every name, title and
// type goes through html/template, so entity data cannot inject markup.
// width scales the drawing (0: natural size).
func SVG(d *Drawing, width int) (template.HTML, error) {
	data := svgData{ViewBox: "0 0 " + num(d.Width) + " " + num(d.Height)}
	w, h := d.Width, d.Height
	if width > 0 && float64(width) < w {
		h = h * float64(width) / w
		w = float64(width)
	}
	data.Width, data.Height = num(w), num(h)
	if len(d.Nodes) > 0 {
		data.Title = "Relations of " + d.Nodes[0].Ref
	}
	lx := d.Legend.X
	for _, k := range d.Kinds {
		data.Legend = append(data.Legend, svgLegend{
			X: num(lx), Y: num(d.Legend.Y + 4), TX: num(lx + 19), TY: num(d.Legend.Y + 15),
			Fill: colour(k), Kind: k,
		})
		lx += 19 + float64(len(k))*charWidth + 16
	}
	for _, n := range d.Nodes {
		sn := svgNode{
			X: num(n.X), Y: num(n.Y), W: num(n.W), H: num(n.H),
			TextX: num(n.X + 8), KindY: num(n.Y + 14), NameY: num(n.Y + 31),
			Label: n.Label, Root: n.Level == 0, Dashed: n.Missing || n.More > 0,
		}
		switch {
		case n.More > 0:
			sn.Fill, sn.Class = otherColour, "more"
			sn.Tooltip = itoa(n.More) + " more related entities are not shown: lower the depth or choose fewer relation types"
		default:
			k := lowerKind(n.Kind)
			sn.Fill, sn.Class, sn.Kind = colour(k), classSafe(k), k
			sn.Tooltip = n.Ref
			if n.Title != "" {
				sn.Tooltip = n.Title + " (" + n.Ref + ")"
			}
			if n.Missing {
				sn.Tooltip += ": not in the catalog"
			} else {
				sn.Href = Href(n.Namespace, n.Kind, n.Name)
			}
		}
		data.Nodes = append(data.Nodes, sn)
	}
	for _, e := range d.Edges {
		se := svgEdge{
			Path:    e.Path,
			Type:    e.Type,
			Tooltip: d.Nodes[e.From].Ref + " " + e.Type + " " + d.Nodes[e.To].Ref,
		}
		if e.Label.W > 0 {
			se.HasLbl = true
			se.LX, se.LY, se.LW, se.LH = num(e.Label.X), num(e.Label.Y), num(e.Label.W), num(e.Label.H)
			se.TX, se.TY = num(e.Label.X+e.Label.W/2), num(e.Label.Y+e.Label.H-labelPad-1)
		}
		data.Edges = append(data.Edges, se)
	}
	var buf bytes.Buffer
	if err := svgTemplate.Execute(&buf, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

func colour(kind string) string {
	if c, ok := kindColours[kind]; ok {
		return c
	}
	return otherColour
}

// classSafe keeps letters, digits and dashes, for class names.
func classSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, s)
}

// lowerKind returns a kind as used in classes and URLs.
func lowerKind(k string) string { return strings.ToLower(k) }

// num formats a coordinate with at most one decimal.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func itoa(i int) string { return strconv.Itoa(i) }
