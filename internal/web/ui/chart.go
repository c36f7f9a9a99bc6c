package ui

import (
	"net/url"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/store"
)

// barChart is a horizontal bar chart drawn as inline SVG by the template;
// the geometry is computed here so the template stays declarative.
type barChart struct {
	Width, Height int
	Rows          []barRow
	Total         int
}

// barRow is one bar: a label, its count and its geometry.
type barRow struct {
	Label string
	Href  string
	Count int
	Y     int // top of the row
	TextY int // baseline of its text
	BarX  int
	BarW  int
	NumX  int
}

const (
	chartLabelW = 110
	chartBarMax = 230
	chartRowH   = 28
)

// kindChart builds the chart of entities per kind, largest first.
func kindChart(counts []store.FacetCount) barChart {
	rows := append([]store.FacetCount(nil), counts...)
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Value < rows[j].Value
	})
	c := barChart{Width: chartLabelW + chartBarMax + 70}
	max := 1
	for _, r := range rows {
		max = maxInt(max, r.Count)
		c.Total += r.Count
	}
	for i, r := range rows {
		w := r.Count * chartBarMax / max
		if r.Count > 0 && w < 2 {
			w = 2
		}
		y := i * chartRowH
		c.Rows = append(c.Rows, barRow{
			Label: kindLabel(r.Value), Href: "/catalog?kind=" + url.QueryEscape(strings.ToLower(r.Value)),
			Count: r.Count, Y: y + 4, TextY: y + 19, BarX: chartLabelW, BarW: w, NumX: chartLabelW + w + 8,
		})
	}
	c.Height = len(rows)*chartRowH + 4
	return c
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
