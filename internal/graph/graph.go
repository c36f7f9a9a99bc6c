// Package graph draws the relation graph around an entity: it fetches the
// neighbourhood level by level, lays it out in layers by distance from the
// root (ordered to reduce crossings, labels never overlapping), and renders
// an inline SVG whose nodes link to the entities' pages. It runs entirely on
// the server; a small script only adds pan and zoom.
package graph

import (
	"context"
	"html/template"

	"github.com/atrium-portal/atrium/internal/engine"
)

// Options choose what Render draws.
type Options struct {
	// Depth is how many relation hops from the root to follow (1–3; other
	// values are clamped).
	Depth int
	// Types are the relation types to follow, either direction of a pair
	// naming both (ownedBy follows ownerOf too); empty means all.
	Types []string
	// Width is the width of the SVG in pixels; 0 means the drawing's
	// natural width.
	Width int
}

// MaxNodes caps the nodes of one graph; the rest are summarised in a
// "+N more" node.
const MaxNodes = 150

// Render draws the graph around root (an entity reference). It fails with a
// fault.NotFound error when root does not exist.
func Render(ctx context.Context, cat engine.Catalog, root string, opts Options) (template.HTML, error) {
	g, err := Fetch(ctx, cat, root, opts)
	if err != nil {
		return "", err
	}
	l := Layout(g)
	return SVG(l, opts.Width)
}

// clampDepth keeps a depth within 1–3.
func clampDepth(d int) int {
	return min(max(d, 1), 3)
}
