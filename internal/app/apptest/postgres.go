package apptest

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/store/pgtest"
)

// PostgresEnv names the environment variable holding the connection string
// of a PostgreSQL server for tests. Each test gets a fresh database on it.
const PostgresEnv = pgtest.Env

// Database is one database engine an end-to-end test runs against.
type Database struct {
	Name string
	// YAML is the backend.database section for it.
	YAML string
}

// Databases returns SQLite, plus PostgreSQL when ATRIUM_TEST_POSTGRES is
// set. Without it PostgreSQL is skipped, except in CI (CI non-empty), where
// its absence fails the test. Each call creates fresh PostgreSQL databases.
func Databases(t testing.TB) []Database {
	t.Helper()
	dbs := []Database{{Name: "sqlite", YAML: ""}}
	if dsn := PostgresDSN(t); dsn != "" {
		dbs = append(dbs, Database{Name: "postgres", YAML: "backend:\n  database:\n    client: pg\n    connection: '" + dsn + "'\n"})
	}
	return dbs
}

// PostgresDSN creates a fresh database on the ATRIUM_TEST_POSTGRES server,
// dropped when the test ends, and returns its connection string. It returns
// "" when the variable is unset outside CI, and fails the test in CI.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := pgtest.Admin(t)
	if admin == "" {
		t.Logf("%s is not set; PostgreSQL is skipped", PostgresEnv)
		return ""
	}
	return pgtest.NewDatabase(t, admin)
}
