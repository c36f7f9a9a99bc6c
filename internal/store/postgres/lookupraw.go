package postgres

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// The type OIDs of the lookup's columns (lookupColumns).
const (
	oidBytea       = 17
	oidText        = 25
	oidTimestamptz = 1184
)

// lookupWire is the type each column of a lookup comes as, in the order of
// lookupColumns: uid, ref, body, hash, errors, created_at, updated_at and
// the relations aggregate.
var lookupWire = [...]uint32{oidText, oidText, oidBytea, oidText, oidText, oidTimestamptz, oidTimestamptz, oidText}

// lookupFormats reports whether a lookup's columns come as decodeLookupRow
// reads them: the types of lookupWire, bytea and timestamptz in binary
// format (text is the same bytes in either format). pgx asks for those
// formats; anything else is read through Scan.
func lookupFormats(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(lookupWire) {
		return false
	}
	for i, fd := range fds {
		if fd.DataTypeOID != lookupWire[i] {
			return false
		}
		if fd.DataTypeOID != oidText && fd.Format != pgx.BinaryFormatCode {
			return false
		}
	}
	return true
}

// decodeLookupRow decodes one row of a lookup from its wire values (see
// lookupFormats) without pgx's scan plans: the body is copied, and uid,
// ref, hash and the relations aggregate are cut from one string, so a row
// costs the database driver's buffer two copies. It returns the entity,
// the raw errors column (nil when NULL) and the relations aggregate (nil
// when NULL). vals is only valid until the next row.
func decodeLookupRow(vals [][]byte) (*catalog.Stored, []byte, *string, error) {
	if len(vals) != len(lookupWire) {
		return nil, nil, nil, fault.New(fault.Internal, "read entity: %d columns, want %d", len(vals), len(lookupWire))
	}
	uid, ref, body, hash, rels := vals[0], vals[1], vals[2], vals[3], vals[7]
	if uid == nil || ref == nil || body == nil || hash == nil {
		return nil, nil, nil, fault.New(fault.Internal, "read entity: a NOT NULL column is NULL")
	}
	created, err := timestamptz(vals[5])
	if err != nil {
		return nil, nil, nil, err
	}
	updated, err := timestamptz(vals[6])
	if err != nil {
		return nil, nil, nil, err
	}
	buf := make([]byte, 0, len(uid)+len(ref)+len(hash)+len(rels))
	buf = append(append(append(append(buf, uid...), ref...), hash...), rels...)
	all := string(buf)
	i := 0
	cut := func(n int) string { s := all[i : i+n]; i += n; return s }
	s := &catalog.Stored{UID: cut(len(uid)), Ref: cut(len(ref)), Hash: cut(len(hash)),
		Body: append([]byte(nil), body...), CreatedAt: created, UpdatedAt: updated}
	var relsOut *string
	if rels != nil {
		r := cut(len(rels))
		relsOut = &r
	}
	return s, vals[4], relsOut, nil
}

// pgEpoch is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix
// microseconds.
const pgEpoch = 946684800 * 1000000

// timestamptz decodes a timestamptz in binary format: microseconds since
// 2000-01-01 UTC, returned in UTC. Infinities (never written by the store)
// are an error.
func timestamptz(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, fault.New(fault.Internal, "read entity: a timestamp of %d bytes", len(b))
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, fault.New(fault.Internal, "read entity: an infinite timestamp")
	}
	return time.UnixMicro(us + pgEpoch).UTC(), nil
}
