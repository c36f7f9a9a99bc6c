// Package backup takes and restores Atrium's backups: one tar.gz archive
// per backup holding a consistent copy of the database (SQLite: VACUUM
// INTO; PostgreSQL: every table's rows read with COPY in one REPEATABLE
// READ transaction), the data folder's files that the database needs
// (the task-secrets key, the embedded git host's repositories) and a
// manifest (versions, row counts and the SHA-256 of every member), kept
// in a folder or an Azure Blob Storage container with retention.
//
// A backup is stored under its final name only when complete, and a
// restore verifies the whole archive before it touches anything.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Engines.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Source says what to back up or restore into.
type Source struct {
	// Engine is EngineSQLite or EnginePostgres.
	Engine string
	// SQLitePath is the SQLite database file.
	SQLitePath string
	// PostgresURL is the PostgreSQL connection string.
	PostgresURL string
	// DataDir is atrium.dataDir.
	DataDir string
}

// Params configure Create.
type Params struct {
	Source
	Target Target
	// Keep is how many backups to keep after this one (0: no pruning).
	Keep int
	// AtriumVersion is recorded in the manifest.
	AtriumVersion string
	// Progress, when set, is told the archive's bytes as they are written.
	Progress io.Writer
	// TempDir holds the snapshot while the archive is written (default:
	// the system's).
	TempDir string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Result describes a backup taken.
type Result struct {
	Name     string
	Size     int64
	Manifest *Manifest
	// Pruned are the older backups retention deleted.
	Pruned []string
}

// Create takes a backup and stores it on the target, then prunes old ones.
func Create(ctx context.Context, p Params) (*Result, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	if p.Target == nil {
		return nil, errors.New("backup: no target")
	}
	tmp, err := os.MkdirTemp(p.TempDir, "atrium-backup-")
	if err != nil {
		return nil, fmt.Errorf("backup: temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	m := &Manifest{Format: FormatVersion, AtriumVersion: p.AtriumVersion, Engine: p.Engine}
	var dbMembers []string
	switch p.Engine {
	case EngineSQLite:
		snap := filepath.Join(tmp, "sqlite", "atrium.db")
		if err := os.MkdirAll(filepath.Dir(snap), 0o700); err != nil {
			return nil, err
		}
		m.Created = now().UTC()
		if err := snapshotSQLite(ctx, p.SQLitePath, snap); err != nil {
			return nil, err
		}
		if m.Tables, m.Migrations, err = describeSQLite(ctx, snap); err != nil {
			return nil, fmt.Errorf("backup: reading the snapshot: %w", err)
		}
		m.Method = "sqlite-vacuum-into"
		dbMembers = []string{"sqlite/atrium.db"}
	case EnginePostgres:
		if m.Tables, m.Migrations, m.Created, err = exportPostgres(ctx, p.PostgresURL, tmp); err != nil {
			return nil, err
		}
		m.Method = "postgres-copy"
		for _, t := range m.Tables {
			dbMembers = append(dbMembers, pgTableMember(t.Name))
		}
	default:
		return nil, fmt.Errorf("backup: unknown engine %q", p.Engine)
	}
	if len(m.Migrations) > 0 {
		m.SchemaVersion = slices.Max(m.Migrations)
	}
	files, err := collectDataFiles(p.DataDir, tmp)
	if err != nil {
		return nil, err
	}

	name := Name(m.Created)
	pr, pw := io.Pipe()
	counter := &countWriter{w: pw, progress: p.Progress}
	go func() {
		aw := newArchiveWriter(counter)
		err := func() error {
			for _, member := range dbMembers {
				if err := aw.addFile(member, filepath.Join(tmp, filepath.FromSlash(member))); err != nil {
					return err
				}
			}
			for _, f := range files {
				if err := aw.addFile(f.member, f.path); err != nil {
					return err
				}
			}
			return aw.finish(m)
		}()
		pw.CloseWithError(err)
	}()
	if err := p.Target.Put(ctx, name, pr); err != nil {
		pr.CloseWithError(err)
		return nil, fmt.Errorf("backup: storing %s on %s: %w", name, p.Target, err)
	}
	res := &Result{Name: name, Size: counter.n, Manifest: m}
	if p.Keep > 0 {
		if res.Pruned, err = Prune(ctx, p.Target, p.Keep); err != nil {
			return res, fmt.Errorf("backup %s stored, but retention failed: %w", name, err)
		}
	}
	return res, nil
}

type countWriter struct {
	w        io.Writer
	n        int64
	progress io.Writer
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		_, _ = c.progress.Write(b[:n])
	}
	return n, err
}

// RestoreParams configure Restore.
type RestoreParams struct {
	Source
	Target Target
	// Backup names the backup; "" restores the newest.
	Backup string
	// Yes allows restoring into the database of a running server.
	Yes bool
	// Migrations are the schema migrations of the database restored into
	// (after this atrium migrated it).
	Migrations []int
	// MaxBytes bounds the unpacked archive (default 64 GiB).
	MaxBytes int64
	// TempDir holds the unpacked archive (default: the system's).
	TempDir string
	// Progress, when set, is told the archive's bytes as they are read.
	Progress io.Writer
}

// ErrServerRunning is returned when the database has a running server and
// RestoreParams.Yes is false.
var ErrServerRunning = errors.New("a running Atrium server uses this database; stop it first, or pass --yes to replace its content while it runs")

// Restore verifies a backup completely, then replaces the database's
// content and the data folder's files with it.
func Restore(ctx context.Context, p RestoreParams) (*Manifest, error) {
	name := p.Backup
	if name == "" {
		list, err := p.Target.List(ctx)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("no backups in %s", p.Target)
		}
		newestFirst(list)
		name = list[0].Name
	}
	rc, err := p.Target.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(p.TempDir, "atrium-restore-")
	if err != nil {
		return nil, fmt.Errorf("restore: temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	max := p.MaxBytes
	if max <= 0 {
		max = 64 << 30
	}
	var r io.Reader = rc
	if p.Progress != nil {
		r = io.TeeReader(rc, p.Progress)
	}
	m, err := extract(name, r, tmp, max)
	if err != nil {
		return nil, err
	}
	if m.Engine != p.Engine {
		return nil, fmt.Errorf("backup %s is of a %s database and the configured database is %s; nothing was restored", name, m.Engine, p.Engine)
	}
	if err := checkSchema(m, p.Migrations); err != nil {
		return nil, fmt.Errorf("backup %s cannot be restored here: %w; nothing was restored", name, err)
	}
	running, err := p.serverRunning(ctx)
	if err != nil {
		return nil, err
	}
	if running && !p.Yes {
		return nil, ErrServerRunning
	}
	switch p.Engine {
	case EngineSQLite:
		if err := restoreSQLite(ctx, filepath.Join(tmp, "sqlite", "atrium.db"), p.SQLitePath); err != nil {
			return nil, err
		}
	case EnginePostgres:
		if err := migrateRiverPostgres(ctx, p.PostgresURL); err != nil {
			return nil, err
		}
		if err := importPostgres(ctx, p.PostgresURL, tmp, m); err != nil {
			return nil, fmt.Errorf("restoring backup %s: %w; the database was left as it was", name, err)
		}
	}
	if err := restoreDataFiles(tmp, p.DataDir); err != nil {
		return m, fmt.Errorf("backup %s: the database was restored, but the data folder was not: %w", name, err)
	}
	return m, nil
}

func (p RestoreParams) serverRunning(ctx context.Context) (bool, error) {
	if p.Engine == EnginePostgres {
		return postgresServerRunning(ctx, p.PostgresURL)
	}
	return sqliteServerRunning(ctx, p.SQLitePath)
}

// Migrations returns the schema migrations applied to the source's database.
func Migrations(ctx context.Context, s Source) ([]int, error) {
	if s.Engine == EnginePostgres {
		conn, err := connectPostgres(ctx, s.PostgresURL)
		if err != nil {
			return nil, err
		}
		defer conn.Close(context.Background())
		return pgMigrations(ctx, conn)
	}
	db, err := openSQLite(s.SQLitePath, true)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return sqliteMigrations(ctx, db)
}

// ServerRunning reports whether a server works on the source's database:
// its River client holds an unexpired leadership.
func ServerRunning(ctx context.Context, s Source) (bool, error) {
	return RestoreParams{Source: s}.serverRunning(ctx)
}
