package postgres

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// TestLookupRowsDecodedLikeScan reads the rows of a lookup statement on the
// lookup pool both through pgx's Scan and through decodeLookupRow, and
// checks that the lookup statement's columns come in the formats
// decodeLookupRow reads (otherwise lookups take the Scan path) and that
// both give the same entity: with and without status items and relations.
func TestLookupRowsDecodedLikeScan(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	recs := []catalog.Record{
		{UID: "u-a", Ref: "component:default/a", Kind: "Component", Namespace: "default", Name: "a",
			Body: []byte(`{"kind":"Component","metadata":{"name":"a"}}`), Hash: "ha",
			Relations: []catalog.RelationRow{
				{Source: "component:default/a", Type: "ownedBy", Target: "group:default/team"},
				{Source: "component:default/a", Type: "dependsOn", Target: "component:default/b"},
			},
			Errors: []catalog.StatusItem{{Type: "backstage.io/catalog-processing", Level: "error", Message: "bad",
				Error: &catalog.StatusError{Name: "InputError", Message: "bad"}}}},
		{UID: "u-b", Ref: "component:default/b", Kind: "Component", Namespace: "default", Name: "b",
			Body: []byte(`{"kind":"Component","metadata":{"name":"b"}}`), Hash: "hb"},
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	query := "SELECT " + lookupColumns + " FROM entities e WHERE e.ref = ANY($1) ORDER BY e.ref"
	keys := []string{"component:default/a", "component:default/b"}

	var scanned []*catalog.Stored
	rows, err := db.lookups.Query(ctx, query, keys)
	if err != nil {
		t.Fatal(err)
	}
	var r lookupRow
	for rows.Next() {
		r.body, r.errs, r.rels = nil, nil, nil
		if err := rows.Scan(&r.uid, &r.ref, &r.body, &r.hash, &r.errs, &r.created, &r.updated, &r.rels); err != nil {
			t.Fatal(err)
		}
		s := &catalog.Stored{UID: r.uid, Ref: r.ref, Body: r.body, Hash: r.hash,
			CreatedAt: r.created.UTC(), UpdatedAt: r.updated.UTC()}
		var errs []byte
		if r.errs != nil {
			errs = []byte(*r.errs)
		}
		if err := decodeLookup(s, errs, r.rels); err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var raw []*catalog.Stored
	rows, err = db.lookups.Query(ctx, query, keys)
	if err != nil {
		t.Fatal(err)
	}
	if !lookupFormats(rows.FieldDescriptions()) {
		t.Fatalf("lookup columns %+v are not in the formats decodeLookupRow reads", rows.FieldDescriptions())
	}
	for rows.Next() {
		s, errs, rels, err := decodeLookupRow(rows.RawValues())
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeLookup(s, errs, rels); err != nil {
			t.Fatal(err)
		}
		raw = append(raw, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	if len(raw) != 2 || len(raw[0].Relations) != 2 || len(raw[0].Errors) != 1 || len(raw[1].Relations) != 0 || raw[0].CreatedAt.IsZero() {
		t.Fatalf("got %+v, want a with 2 relations and a status item, b with neither", raw)
	}
	if !reflect.DeepEqual(raw, scanned) {
		t.Fatalf("decodeLookupRow: got %+v, want (Scan) %+v", raw, scanned)
	}
	for _, key := range keys {
		s, err := db.EntityGetByRef(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		want := scanned[0]
		if key == keys[1] {
			want = scanned[1]
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("EntityGetByRef(%s): got %+v, want %+v", key, s, want)
		}
	}
}

func TestTimestamptz(t *testing.T) {
	for _, c := range []struct {
		wire []byte
		want time.Time
		ok   bool
	}{
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0}, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), true},
		// 2026-12-06 22:00:00.123456 UTC
		{be(time.Date(2026, 12, 6, 22, 0, 0, 123456000, time.UTC).UnixMicro() - pgEpoch), time.Date(2026, 12, 6, 22, 0, 0, 123456000, time.UTC), true},
		{[]byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, time.Time{}, false}, // infinity
		{[]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, time.Time{}, false},                      // -infinity
		{[]byte{0, 0, 0}, time.Time{}, false},
		{nil, time.Time{}, false},
	} {
		got, err := timestamptz(c.wire)
		if (err == nil) != c.ok || !got.Equal(c.want) || (c.ok && got.Location() != time.UTC) {
			t.Errorf("timestamptz(%x): got %v, %v, want %v (ok %v)", c.wire, got, err, c.want, c.ok)
		}
	}
}

func be(v int64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return b
}

func TestLookupFormatsRefusesOthers(t *testing.T) {
	good := make([]pgconn.FieldDescription, len(lookupWire))
	for i, oid := range lookupWire {
		good[i] = pgconn.FieldDescription{DataTypeOID: oid, Format: pgx.BinaryFormatCode}
	}
	if !lookupFormats(good) {
		t.Fatal("the lookup's own columns refused")
	}
	textBody := append([]pgconn.FieldDescription(nil), good...)
	textBody[2].Format = pgx.TextFormatCode
	textTime := append([]pgconn.FieldDescription(nil), good...)
	textTime[5].Format = pgx.TextFormatCode
	varchar := append([]pgconn.FieldDescription(nil), good...)
	varchar[0].DataTypeOID = 1043
	for name, fds := range map[string][]pgconn.FieldDescription{
		"bytea as text": textBody, "timestamptz as text": textTime, "varchar": varchar, "fewer columns": good[:7],
	} {
		if lookupFormats(fds) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecodeLookupRowRefusesBadRows(t *testing.T) {
	ts := make([]byte, 8)
	ok := [][]byte{[]byte("u"), []byte("r"), []byte("{}"), []byte("h"), nil, ts, ts, nil}
	if _, _, _, err := decodeLookupRow(ok); err != nil {
		t.Fatalf("a good row: %v", err)
	}
	nullRef := append([][]byte(nil), ok...)
	nullRef[1] = nil
	shortTime := append([][]byte(nil), ok...)
	shortTime[6] = []byte{1}
	for name, vals := range map[string][][]byte{"NULL ref": nullRef, "short timestamp": shortTime, "fewer columns": ok[:7]} {
		if _, _, _, err := decodeLookupRow(vals); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
