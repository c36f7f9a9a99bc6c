// Package riverlocal runs River on a database only this process inserts
// jobs into (SQLite, one process's file) without River's listener.
package riverlocal

import (
	"database/sql"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// PollInterval is how often a River client on SQLite looks for jobs. River
// fetches as soon as an Insert of this process returns (Driver), so the poll
// only catches retries, snoozed jobs coming due and jobs another process
// queued on the file. River's SQLite listener, which polled a notification
// table every 50 ms per client, and fetches every 200 ms–1 s were most of an
// idle server's wake-ups.
const PollInterval = 5 * time.Second

// Driver is a River driver that reports no listener and no listen/notify:
// River then runs in poll-only mode, writes no notification rows, and
// triggers its producer's fetch in process after every Insert, so a job
// still starts at once while an idle client wakes once per PollInterval.
type Driver[TTx any] struct {
	riverdriver.Driver[TTx]
}

// SQLite returns the driver for River on db.
func SQLite(db *sql.DB) Driver[*sql.Tx] {
	return Driver[*sql.Tx]{riversqlite.New(db)}
}

// SupportsListener reports false: no listener goroutine polling for
// notifications.
func (Driver[TTx]) SupportsListener() bool { return false }

// SupportsListenNotify reports false: inserts write no notification rows
// that nothing would read.
func (Driver[TTx]) SupportsListenNotify() bool { return false }
