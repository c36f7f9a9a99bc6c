package audit_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// bench is an audit log on a real database plus a raw connection to tamper
// with it the way someone with database access would.
type bench struct {
	name string
	log  *audit.Log
	// exec runs SQL directly on the database, bypassing the store.
	exec func(t testing.TB, q string)
	// disarm drops the append-only triggers, as an attacker would first.
	disarm string
}

func benches(t *testing.T) []func(t testing.TB) *bench {
	t.Helper()
	out := []func(t testing.TB) *bench{sqliteBench}
	if apptest.PostgresDSN(t) != "" {
		out = append(out, postgresBench)
	}
	return out
}

func sqliteBench(t testing.TB) *bench {
	t.Helper()
	path := filepath.Join(t.TempDir(), "atrium.db")
	db := testdb.SQLiteAt(t, path)
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &bench{
		name: "sqlite",
		log:  newLog(db),
		exec: func(t testing.TB, q string) {
			t.Helper()
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		disarm: "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete",
	}
}

func postgresBench(t testing.TB) *bench {
	t.Helper()
	dsn := apptest.PostgresDSN(t)
	ctx := context.Background()
	db := testdb.PostgresAt(t, dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return &bench{
		name: "postgres",
		log:  newLog(db),
		exec: func(t testing.TB, q string) {
			t.Helper()
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		disarm: "DROP TRIGGER audit_events_append_only ON audit_events",
	}
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newLog(s store.AuditStore) *audit.Log {
	now := t0
	return audit.New(audit.Params{Store: s, Now: func() time.Time { now = now.Add(time.Minute); return now }})
}

func fill(t testing.TB, l *audit.Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := l.Append(context.Background(), audit.Event{
			Actor:    audit.Actor{Ref: "user:default/jane", TokenID: "s1"},
			Action:   "POST /api/catalog/locations",
			Resource: "/api/catalog/locations",
			Outcome:  audit.Succeeded,
			Status:   201,
			Details:  map[string]any{"i": i},
		})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

func TestTamperDetection(t *testing.T) {
	tests := []struct {
		name    string
		tamper  []string // SQL, after the triggers are dropped
		wantSeq int64
		want    string
	}{
		{"intact", nil, 0, ""},
		{"outcome column edited", []string{"UPDATE audit_events SET outcome = 'denied' WHERE seq = 3"}, 3, "outcome column was edited"},
		{"content edited", []string{`UPDATE audit_events SET body = replace(body, '"status":201', '"status":200') WHERE seq = 4`}, 4, "content was edited"},
		{"content and hash rewritten", []string{`UPDATE audit_events SET body = replace(body, 'jane', 'eve'), actor = 'user:default/eve', hash = 'forged' WHERE seq = 2`}, 2, "content was edited"},
		{"record removed", []string{"DELETE FROM audit_events WHERE seq = 3"}, 3, "missing (removed)"},
		{"records removed", []string{"DELETE FROM audit_events WHERE seq IN (2, 3)"}, 2, "records 2 to 3 are missing"},
		{"last records removed", []string{"DELETE FROM audit_events WHERE seq >= 4"}, 4, "records 4 to 5 are missing (removed from the end"},
		{"first record removed", []string{"DELETE FROM audit_events WHERE seq = 1"}, 1, "missing (removed)"},
		{"reordered", []string{
			"UPDATE audit_events SET seq = 100 WHERE seq = 2",
			"UPDATE audit_events SET seq = 2 WHERE seq = 3",
			"UPDATE audit_events SET seq = 3 WHERE seq = 100",
		}, 2, "does not follow record 1"},
		{"head rewound", []string{"UPDATE audit_head SET seq = 4"}, 5, "ends at 4"},
	}
	for _, open := range benches(t) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := open(t)
				t.Run(b.name, func(t *testing.T) {
					fill(t, b.log, 5)
					if len(tt.tamper) > 0 {
						b.exec(t, b.disarm)
					}
					for _, q := range tt.tamper {
						b.exec(t, q)
					}
					rep, err := b.log.Verify(context.Background())
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if tt.want == "" {
						if !rep.OK() || rep.Checked != 5 || rep.First != 1 || rep.Last != 5 {
							t.Fatalf("intact log: got %+v (problem %v), want 5 records checked", rep, rep.Problem)
						}
						return
					}
					if rep.OK() {
						t.Fatalf("tampered log verified as intact: %+v", rep)
					}
					if rep.Problem.Seq != tt.wantSeq || !strings.Contains(rep.Problem.Reason, tt.want) {
						t.Errorf("problem: got %v, want record %d: …%s…", rep.Problem, tt.wantSeq, tt.want)
					}
				})
			})
		}
	}
}

func TestAppendOnlyTriggers(t *testing.T) {
	for _, open := range benches(t) {
		b := open(t)
		t.Run(b.name, func(t *testing.T) {
			fill(t, b.log, 2)
			for _, q := range []string{"UPDATE audit_events SET outcome = 'denied' WHERE seq = 1", "DELETE FROM audit_events WHERE seq = 1"} {
				tb := &captureTB{TB: t}
				func() {
					defer func() { _ = recover() }()
					b.exec(tb, q)
				}()
				if !tb.failed {
					t.Errorf("%s: the database allowed it", q)
				}
			}
		})
	}
}

// captureTB turns Fatalf into a recorded failure and a panic, so a test can
// expect a helper to fail.
type captureTB struct {
	testing.TB
	failed bool
}

func (c *captureTB) Fatalf(string, ...any) { c.failed = true; panic("fatal") }
func (c *captureTB) Helper()               {}

func TestPruneKeepsChainVerifiable(t *testing.T) {
	for _, open := range benches(t) {
		b := open(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			fill(t, b.log, 6) // times t0+1m … t0+6m
			res, err := b.log.Prune(ctx, t0.Add(3*time.Minute+30*time.Second))
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			if res.Through != 3 || res.Deleted != 3 {
				t.Fatalf("prune: got %+v, want through 3, 3 deleted", res)
			}
			rep, err := b.log.Verify(ctx)
			if err != nil || !rep.OK() {
				t.Fatalf("Verify after prune: %+v %v (problem %v)", rep, err, rep.Problem)
			}
			// 3 kept + the prune's own record.
			if rep.First != 4 || rep.Last != 7 || rep.Pruned != 3 {
				t.Errorf("report: got %+v, want records 4..7 and 3 pruned", rep)
			}
			// A forged checkpoint (to hide a deleted prefix) is caught.
			b.exec(t, b.disarm)
			b.exec(t, "DELETE FROM audit_events WHERE seq = 4")
			b.exec(t, "UPDATE audit_head SET cp_seq = 4, cp_hash = (SELECT prev_hash FROM audit_events WHERE seq = 5)")
			rep, err = b.log.Verify(ctx)
			if err != nil || rep.OK() || !strings.Contains(rep.Problem.Reason, "checkpoint") {
				t.Errorf("forged checkpoint: got %+v, %v, want a checkpoint problem", rep, err)
			}
		})
	}
}

func TestPruneRefusesTamperedPrefix(t *testing.T) {
	b := sqliteBench(t)
	fill(t, b.log, 4)
	b.exec(t, b.disarm)
	b.exec(t, "UPDATE audit_events SET outcome = 'failed' WHERE seq = 2")
	if _, err := b.log.Prune(context.Background(), t0.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "tampered") {
		t.Errorf("Prune of a tampered prefix: got %v, want a refusal", err)
	}
}

// BenchmarkAppend measures one audit append (a write transaction that
// locks the chain head) on each database.
func BenchmarkAppend(b *testing.B) {
	opens := []func(t testing.TB) *bench{sqliteBench}
	if apptest.PostgresDSN(b) != "" {
		opens = append(opens, postgresBench)
	}
	for _, open := range opens {
		bb := open(b)
		b.Run(bb.name, func(b *testing.B) {
			ev := audit.Event{Actor: audit.Actor{Ref: "user:default/jane"}, Action: "POST /api/catalog/locations",
				Resource: "/api/catalog/locations", Outcome: audit.Succeeded, Status: 201, Details: map[string]any{"method": "POST"}}
			for b.Loop() {
				if _, err := bb.log.Append(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
