package store

// ChangeMark is a position in the database's log of entity changes, as
// EntityChangesSince returns it. The zero mark knows nothing: a check
// against it always reports a change.
type ChangeMark struct {
	// Valid is false for the zero mark.
	Valid bool
	// Pos and Seen are the engine's own: on SQLite the last seq of the
	// log; on PostgreSQL the oldest transaction that may still commit
	// changes and the number of log rows at or past it.
	Pos, Seen uint64
}
