package plugin

import "time"

// View is an entity card's content: declarative blocks the portal renders
// in its own style. Plugins never send HTML or scripts; markdown is
// rendered and sanitised by the portal.
type View struct {
	Blocks []Block `json:"blocks"`
}

// Block is one part of a View; exactly one of its fields is set.
type Block struct {
	KeyValues  []KeyValue  `json:"keyValues,omitempty"`
	Table      *Table      `json:"table,omitempty"`
	Badges     []Badge     `json:"badges,omitempty"`
	Links      []Link      `json:"links,omitempty"`
	Markdown   string      `json:"markdown,omitempty"`
	TimeSeries *TimeSeries `json:"timeSeries,omitempty"`
}

// KeyValue is a labelled value.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Href makes the value a link (http, https or a path in Atrium).
	Href string `json:"href,omitempty"`
}

// Table is a table of text cells.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Status is a badge's colour: what the portal shows for the state.
type Status string

// The statuses a badge can have.
const (
	StatusOK      Status = "ok"
	StatusWarning Status = "warning"
	StatusError   Status = "error"
	StatusPending Status = "pending"
	StatusUnknown Status = "unknown"
)

// Badge is a short status label ("pipeline: passed").
type Badge struct {
	Label  string `json:"label"`
	Status Status `json:"status"`
	Href   string `json:"href,omitempty"`
}

// Link is a link with a title.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// TimeSeries is a small line chart.
type TimeSeries struct {
	Label  string  `json:"label"`
	Unit   string  `json:"unit,omitempty"`
	Points []Point `json:"points"`
}

// Point is one sample of a TimeSeries.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}
