package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// pgSkipped are tables of the schema that a backup leaves out: migration
// bookkeeping (the target's own migrations create it), River's state of
// running clients, and pgDerived. river_job is kept, so queued template
// runs survive.
var pgSkipped = append([]string{"schema_migrations", "river_migration", "river_leader", "river_client", "river_client_queue", "river_queue", "backup_runs"}, pgDerived...)

// pgDerived are tables derived from the others that a backup leaves out
// and a restore ignores in older backups that have them. The entity change
// log (entity_changes, and entity_changes_pruned, the largest transaction
// id pruned from it) names transactions of the database it was written
// in: restored elsewhere, a pruned mark above the new database's
// transaction ids would make every reader of the log read its id sets
// again until the new database catches up, and its rows are only bulk.
// The restore writes the log it needs itself: emptying entities logs a
// "reload everything" row and loading them logs each entity.
var pgDerived = []string{"entity_changes", "entity_changes_pruned"}

// pgTableMember is the archive member of a PostgreSQL table's rows.
func pgTableMember(table string) string { return "postgres/" + table + ".copy" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgTables lists the schema's tables, parents before the tables whose
// foreign keys reference them, with their stored (not generated) columns.
func pgTables(ctx context.Context, tx pgx.Tx) ([]Table, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(pgSkipped, n) })
	rows, err = tx.Query(ctx, `SELECT c.relname, p.relname FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		if child != parent {
			deps[child] = append(deps[child], parent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Order: a table comes after its parents (a simple repeated pass;
	// schemas have a handful of foreign keys).
	var ordered []string
	placed := map[string]bool{}
	for len(ordered) < len(names) {
		progress := false
		for _, n := range names {
			if placed[n] {
				continue
			}
			ready := true
			for _, p := range deps[n] {
				if slices.Contains(names, p) && !placed[p] {
					ready = false
				}
			}
			if ready {
				placed[n] = true
				ordered = append(ordered, n)
				progress = true
			}
		}
		if !progress {
			return nil, errors.New("the tables' foreign keys form a cycle")
		}
	}
	tables := make([]Table, 0, len(ordered))
	for _, n := range ordered {
		rows, err := tx.Query(ctx, `SELECT a.attname FROM pg_attribute a
			WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass
			AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`, n)
		if err != nil {
			return nil, err
		}
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		tables = append(tables, Table{Name: n, Columns: cols})
	}
	return tables, nil
}

func pgMigrations(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]int, error) {
	rows, err := q.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = int(v)
	}
	return out, nil
}

// exportPostgres writes every table's rows to dir (COPY … TO STDOUT, text
// format) inside one REPEATABLE READ, read-only transaction, so that all
// tables are read at the same instant.
func exportPostgres(ctx context.Context, dsn, dir string) ([]Table, []int, time.Time, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("connecting to PostgreSQL: %w", pgErr(err))
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("PostgreSQL export: %w", err)
	}
	defer tx.Rollback(context.Background())
	// A long export must not hit the server's statement timeout.
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return nil, nil, time.Time{}, err
	}
	var at time.Time
	if err := tx.QueryRow(ctx, "SELECT now()").Scan(&at); err != nil {
		return nil, nil, time.Time{}, err
	}
	versions, err := pgMigrations(ctx, tx)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	tables, err := pgTables(ctx, tx)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("listing tables: %w", err)
	}
	for i, t := range tables {
		path := filepath.Join(dir, filepath.FromSlash(pgTableMember(t.Name)))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, time.Time{}, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, f, fmt.Sprintf("COPY %s (%s) TO STDOUT", quoteIdent(t.Name), joinIdents(t.Columns)))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, time.Time{}, fmt.Errorf("exporting table %s: %w", t.Name, err)
		}
		tables[i].Rows = tag.RowsAffected()
	}
	return tables, versions, at.UTC(), nil
}

func joinIdents(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// migrateRiverPostgres creates River's tables when the database has none
// yet (a fresh database restored before any server ran on it).
func migrateRiverPostgres(ctx context.Context, dsn string) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return pgErr(err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// importPostgres replaces the content of the manifest's tables with the
// rows in dir, in one transaction: either everything is restored or
// nothing changed.
func importPostgres(ctx context.Context, dsn, dir string, m *Manifest) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", pgErr(err))
	}
	defer conn.Close(context.Background())
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
			return err
		}
		have, err := pgTables(ctx, tx)
		if err != nil {
			return fmt.Errorf("listing tables: %w", err)
		}
		tables := slices.DeleteFunc(slices.Clone(m.Tables), func(t Table) bool { return slices.Contains(pgDerived, t.Name) })
		names := make([]string, 0, len(tables))
		for _, t := range tables {
			i := slices.IndexFunc(have, func(h Table) bool { return h.Name == t.Name })
			if i < 0 {
				return fmt.Errorf("table %s of the backup does not exist in the database", t.Name)
			}
			for _, c := range t.Columns {
				if !slices.Contains(have[i].Columns, c) {
					return fmt.Errorf("column %s.%s of the backup does not exist in the database", t.Name, c)
				}
			}
			names = append(names, quoteIdent(t.Name))
		}
		if len(names) > 0 {
			// TRUNCATE fires no row triggers: the audit log's append-only
			// trigger guards row deletes, not a restore.
			if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
				return fmt.Errorf("emptying the tables: %w", err)
			}
		}
		for _, t := range tables {
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(pgTableMember(t.Name))))
			if err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
			tag, err := tx.Conn().PgConn().CopyFrom(ctx, f, fmt.Sprintf("COPY %s (%s) FROM STDIN", quoteIdent(t.Name), joinIdents(t.Columns)))
			f.Close()
			if err != nil {
				return fmt.Errorf("restoring table %s: %w", t.Name, err)
			}
			if tag.RowsAffected() != t.Rows {
				return fmt.Errorf("restoring table %s: %d rows loaded, the manifest says %d", t.Name, tag.RowsAffected(), t.Rows)
			}
		}
		// Identity columns continue after the restored rows.
		rows, err := tx.Query(ctx, `SELECT c.relname, a.attname FROM pg_attribute a
			JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND a.attidentity <> '' AND a.attnum > 0 AND NOT a.attisdropped`)
		if err != nil {
			return err
		}
		type col struct{ table, name string }
		var ids []col
		for rows.Next() {
			var c col
			if err := rows.Scan(&c.table, &c.name); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, c)
		}
		rows.Close()
		for _, c := range ids {
			q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max(%s), 0) + 1, false) FROM %s", quoteIdent(c.name), quoteIdent(c.table))
			if _, err := tx.Exec(ctx, q, quoteIdent(c.table), c.name); err != nil {
				return fmt.Errorf("resetting the identity of %s.%s: %w", c.table, c.name, err)
			}
		}
		return nil
	})
}

// postgresServerRunning reports whether a server works on the database.
func postgresServerRunning(ctx context.Context, dsn string) (bool, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false, fmt.Errorf("connecting to PostgreSQL: %w", pgErr(err))
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM river_leader WHERE expires_at > now()").Scan(&n)
	if err != nil {
		return false, nil
	}
	return n > 0, nil
}

// pgErr keeps connection strings (which may hold a password) out of messages.
func pgErr(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "://") || strings.Contains(msg, "password") {
		return errors.New("cannot connect (check backend.database.connection)")
	}
	return err
}

func connectPostgres(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", pgErr(err))
	}
	return conn, nil
}
