package graph

import (
	"math"
	"sort"
	"unicode/utf8"
)

// The geometry of a drawing, in SVG user units (pixels at scale 1).
const (
	NodeWidth  = 180.0
	NodeHeight = 40.0
	rowGap     = 16.0
	layerGap   = 170.0
	columnGap  = 40.0
	margin     = 20.0
	legendRow  = 26.0
	charWidth  = 7.0 // average advance of the 12px label font
	labelFont  = 10.0
	labelChar  = 6.0 // average advance of the edge-label font
	labelPad   = 3.0
	sweeps     = 8
	minRows    = 10
	labelRunes = 23 // (NodeWidth-16)/charWidth, rounded down
)

// Box is an axis-aligned rectangle.
type Box struct{ X, Y, W, H float64 }

// Overlaps reports whether b and o share any area.
func (b Box) Overlaps(o Box) bool {
	return b.X < o.X+o.W && o.X < b.X+b.W && b.Y < o.Y+o.H && o.Y < b.Y+b.H
}

// PlacedNode is a node with its box and the label that fits in it.
type PlacedNode struct {
	Node
	Box
	Label string
}

// PlacedEdge is an edge with its path and, when there was room, its label.
type PlacedEdge struct {
	Edge
	// Path is an SVG path (a cubic Bézier) from the source to the target.
	Path string
	// Label is the box of the type label; zero when it did not fit.
	Label Box
}

// Drawing is a laid-out graph.
type Drawing struct {
	Nodes         []PlacedNode
	Edges         []PlacedEdge
	Width, Height float64
	// Kinds are the kinds present, for the legend, in drawing order.
	Kinds []string
	// Legend is the area the legend occupies at the top.
	Legend Box
}

// Layout places g: one band of columns per distance from the root, nodes
// ordered within a band by barycentric sweeps (fewer crossings), large bands
// wrapped into several columns. Node labels are cut to their box, so no two
// labels overlap; edge labels are placed where they hit neither a node nor
// another label, or left out (the edge keeps its tooltip). The result
// depends only on g.
func Layout(g *Graph) *Drawing {
	d := &Drawing{}
	if len(g.Nodes) == 0 {
		return d
	}
	layers := orderLayers(g)

	d.Kinds = kindsOf(g)
	d.Legend = Box{X: margin, Y: margin, W: 0, H: legendRow}
	top := margin + legendRow + rowGap

	// Rows per column: bands wider than minRows wrap into about square
	// blocks so that a 60-node band is not 60 rows tall.
	rowsOf := func(n int) int {
		return max(minRows, int(math.Ceil(math.Sqrt(float64(n)*2))))
	}
	tallest := 0
	for _, l := range layers {
		tallest = max(tallest, min(len(l), rowsOf(len(l))))
	}
	bandHeight := float64(tallest)*(NodeHeight+rowGap) - rowGap

	d.Nodes = make([]PlacedNode, len(g.Nodes))
	x := margin
	for _, l := range layers {
		rows := rowsOf(len(l))
		cols := (len(l) + rows - 1) / rows
		for c := 0; c < cols; c++ {
			colNodes := l[c*rows : min(len(l), (c+1)*rows)]
			h := float64(len(colNodes))*(NodeHeight+rowGap) - rowGap
			y0 := top + (bandHeight-h)/2
			for r, ni := range colNodes {
				n := g.Nodes[ni]
				d.Nodes[ni] = PlacedNode{
					Node:  n,
					Box:   Box{X: x + float64(c)*(NodeWidth+columnGap), Y: y0 + float64(r)*(NodeHeight+rowGap), W: NodeWidth, H: NodeHeight},
					Label: fit(nodeLabel(n), labelRunes),
				}
			}
		}
		x += float64(cols)*(NodeWidth+columnGap) - columnGap + layerGap
	}
	d.Width = x - layerGap + margin
	d.Height = top + bandHeight + margin
	d.Legend.W = d.Width - 2*margin

	placeEdges(d, g)
	return d
}

// orderLayers groups node indexes by level and orders each level.
func orderLayers(g *Graph) [][]int {
	maxLevel := 0
	for _, n := range g.Nodes {
		maxLevel = max(maxLevel, n.Level)
	}
	layers := make([][]int, maxLevel+1)
	for i, n := range g.Nodes {
		layers[n.Level] = append(layers[n.Level], i)
	}
	less := func(a, b int) bool {
		na, nb := g.Nodes[a], g.Nodes[b]
		if (na.More > 0) != (nb.More > 0) {
			return nb.More > 0
		}
		if na.Kind != nb.Kind {
			return na.Kind < nb.Kind
		}
		return na.Ref < nb.Ref
	}
	for _, l := range layers {
		sort.Slice(l, func(i, j int) bool { return less(l[i], l[j]) })
	}
	neighbours := make([][]int, len(g.Nodes))
	for _, e := range g.Edges {
		neighbours[e.From] = append(neighbours[e.From], e.To)
		neighbours[e.To] = append(neighbours[e.To], e.From)
	}
	pos := make([]float64, len(g.Nodes))
	setPos := func(l []int) {
		for i, n := range l {
			if len(l) > 1 {
				pos[n] = float64(i) / float64(len(l)-1)
			} else {
				pos[n] = 0.5
			}
		}
	}
	for _, l := range layers {
		setPos(l)
	}
	reorder := func(li, ref int) {
		l := layers[li]
		bary := make(map[int]float64, len(l))
		for _, n := range l {
			sum, cnt := 0.0, 0
			for _, m := range neighbours[n] {
				if g.Nodes[m].Level == ref {
					sum += pos[m]
					cnt++
				}
			}
			if cnt > 0 {
				bary[n] = sum / float64(cnt)
			} else {
				bary[n] = pos[n]
			}
		}
		sort.SliceStable(l, func(i, j int) bool {
			a, b := l[i], l[j]
			if (g.Nodes[a].More > 0) != (g.Nodes[b].More > 0) {
				return g.Nodes[b].More > 0
			}
			if bary[a] != bary[b] {
				return bary[a] < bary[b]
			}
			return less(a, b)
		})
		setPos(l)
	}
	for s := 0; s < sweeps; s++ {
		if s%2 == 0 {
			for li := 1; li < len(layers); li++ {
				reorder(li, li-1)
			}
		} else {
			for li := len(layers) - 2; li >= 1; li-- {
				reorder(li, li+1)
			}
		}
	}
	return layers
}

// placeEdges routes every edge and places the labels that fit.
func placeEdges(d *Drawing, g *Graph) {
	taken := make([]Box, 0, len(d.Nodes)+len(g.Edges))
	for _, n := range d.Nodes {
		taken = append(taken, n.Box)
	}
	taken = append(taken, d.Legend)
	for _, e := range g.Edges {
		s, t := d.Nodes[e.From].Box, d.Nodes[e.To].Box
		p := route(s, t)
		pe := PlacedEdge{Edge: e, Path: p.path()}
		w := float64(utf8.RuneCountInString(e.Type))*labelChar + 2*labelPad
		h := labelFont + 2*labelPad
		for _, at := range []float64{0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75} {
			cx, cy := p.at(at)
			b := Box{X: cx - w/2, Y: cy - h/2, W: w, H: h}
			if !collides(b, taken) {
				pe.Label = b
				taken = append(taken, b)
				break
			}
		}
		d.Edges = append(d.Edges, pe)
	}
}

func collides(b Box, taken []Box) bool {
	for _, o := range taken {
		if b.Overlaps(o) {
			return true
		}
	}
	return false
}

// bezier is a cubic Bézier curve.
type bezier struct{ x0, y0, x1, y1, x2, y2, x3, y3 float64 }

// route draws a curve from box s to box t: right side to left side when t
// is to the right, the other way round when it is to the left, and a loop
// out of the right sides when both share a column.
func route(s, t Box) bezier {
	sy, ty := s.Y+s.H/2, t.Y+t.H/2
	switch {
	case t.X >= s.X+s.W:
		sx, tx := s.X+s.W, t.X
		dx := (tx - sx) / 2
		return bezier{sx, sy, sx + dx, sy, tx - dx, ty, tx, ty}
	case t.X+t.W <= s.X:
		sx, tx := s.X, t.X+t.W
		dx := (sx - tx) / 2
		return bezier{sx, sy, sx - dx, sy, tx + dx, ty, tx, ty}
	default:
		sx, tx := s.X+s.W, t.X+t.W
		out := max(sx, tx) + columnGap*0.9
		return bezier{sx, sy, out, sy, out, ty, tx, ty}
	}
}

func (b bezier) at(t float64) (float64, float64) {
	u := 1 - t
	x := u*u*u*b.x0 + 3*u*u*t*b.x1 + 3*u*t*t*b.x2 + t*t*t*b.x3
	y := u*u*u*b.y0 + 3*u*u*t*b.y1 + 3*u*t*t*b.y2 + t*t*t*b.y3
	return x, y
}

func (b bezier) path() string {
	return "M" + num(b.x0) + "," + num(b.y0) + " C" + num(b.x1) + "," + num(b.y1) + " " +
		num(b.x2) + "," + num(b.y2) + " " + num(b.x3) + "," + num(b.y3)
}

// nodeLabel is the text drawn in a node.
func nodeLabel(n Node) string {
	if n.More > 0 {
		return "+" + itoa(n.More) + " more"
	}
	return n.Name
}

// fit cuts s to at most n runes, marking the cut with an ellipsis.
func fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// kindsOf returns the kinds present, sorted.
func kindsOf(g *Graph) []string {
	set := map[string]bool{}
	for _, n := range g.Nodes {
		if n.More == 0 && n.Kind != "" {
			set[lowerKind(n.Kind)] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
