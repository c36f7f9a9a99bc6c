package backup

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// FormatVersion is the archive layout this package writes and reads.
const FormatVersion = 1

// ManifestName is the archive member holding the manifest, always last.
const ManifestName = "manifest.json"

// Manifest describes one backup archive.
type Manifest struct {
	// Format is the archive layout (FormatVersion).
	Format int `json:"format"`
	// AtriumVersion is the version of the atrium that wrote it.
	AtriumVersion string `json:"atriumVersion"`
	// Engine is the database engine: "sqlite" or "postgres".
	Engine string `json:"engine"`
	// Method says how the database was captured: "sqlite-vacuum-into" or
	// "postgres-copy".
	Method string `json:"method"`
	// SchemaVersion is the newest applied migration; Migrations lists them all.
	SchemaVersion int   `json:"schemaVersion"`
	Migrations    []int `json:"migrations"`
	// Created is when the database snapshot was taken (UTC).
	Created time.Time `json:"created"`
	// Tables are the captured tables with their row counts (and, for
	// PostgreSQL, the columns in the order of their member).
	Tables []Table `json:"tables"`
	// Members are every other archive member with its size and SHA-256.
	Members []Member `json:"members"`
}

// Table is one captured table.
type Table struct {
	Name    string   `json:"name"`
	Rows    int64    `json:"rows"`
	Columns []string `json:"columns,omitempty"`
}

// Member is one file of the archive.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Rows returns the row count of the named table, -1 when it was not captured.
func (m *Manifest) Rows(table string) int64 {
	for _, t := range m.Tables {
		if t.Name == table {
			return t.Rows
		}
	}
	return -1
}

func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %v", ManifestName, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%s: archive format %d is not supported (this atrium reads format %d)", ManifestName, m.Format, FormatVersion)
	}
	if m.Engine != "sqlite" && m.Engine != "postgres" {
		return nil, fmt.Errorf("%s: unknown engine %q", ManifestName, m.Engine)
	}
	return &m, nil
}

// checkSchema says whether a backup taken at the migrations in have can be
// restored into a database at want: SQLite backups may be older (the
// migrations run again on start), PostgreSQL backups hold table data only
// and need the same schema.
func checkSchema(m *Manifest, want []int) error {
	have := m.Migrations
	for _, v := range have {
		if !slices.Contains(want, v) {
			return fmt.Errorf("the backup has schema migration %d, which this atrium does not know: restore it with atrium %s or newer", v, m.AtriumVersion)
		}
	}
	if m.Engine == "postgres" && len(have) != len(want) {
		return fmt.Errorf("the backup was taken at schema version %d and the database is at %d: a PostgreSQL backup restores into the same schema, so restore it with atrium %s, then upgrade", m.SchemaVersion, slices.Max(append([]int{0}, want...)), m.AtriumVersion)
	}
	return nil
}
